import { describe, expect, it } from "vitest";
import { ageThresholds, DEFAULT_LOG_PATTERNS, diskFullConfigSchema } from "./config.ts";

function issues(input: unknown): string[] {
  const r = diskFullConfigSchema.safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("diskFullConfigSchema", () => {
  it("fills every default when the section is absent", () => {
    const c = diskFullConfigSchema.parse({});
    expect(c).toEqual({
      log_dirs: [],
      temp_dirs: [],
      backup_dirs: [],
      min_age_days: 7,
      log_patterns: [...DEFAULT_LOG_PATTERNS],
      backup_patterns: ["*"],
      target_used_percent: 80,
      ignore_unreadable_processes: [],
      max_files_per_run: 100_000,
    });
    expect(ageThresholds(c)).toEqual({ logs: 7, temp: 7, backups: 7 });
    expect(ageThresholds(diskFullConfigSchema.parse({ min_age_days: 3, temp_min_age_days: 1 }))).toEqual({
      logs: 3,
      temp: 1,
      backups: 3,
    });
  });

  it("rejects an unknown key, naming it", () => {
    const r = diskFullConfigSchema.safeParse({ log_dir: ["/var/log"] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain("log_dir");
  });

  it("rejects relative, root and dotted folders with the key and a reason", () => {
    expect(issues({ log_dirs: ["var/log"] })).toEqual(["log_dirs.0: must be an absolute path (the playbook never guesses a folder)"]);
    expect(issues({ temp_dirs: ["/"] })).toEqual(["temp_dirs.0: must not be the root folder /"]);
    expect(issues({ backup_dirs: ["/srv/../etc"] })).toEqual(["backup_dirs.0: must not contain '.' or '..' segments"]);
  });

  it("rejects bad patterns and out-of-range numbers", () => {
    expect(issues({ log_patterns: ["a/*.log"] })[0]).toMatch(/^log_patterns\.0: .*basename/);
    expect(issues({ backup_patterns: ["[z-a]"] })[0]).toMatch(/^backup_patterns\.0: is not a valid pattern/);
    expect(issues({ target_used_percent: 0 })[0]).toMatch(/^target_used_percent:/);
    expect(issues({ target_used_percent: 101 })[0]).toMatch(/^target_used_percent:/);
    expect(issues({ min_age_days: -1 })[0]).toMatch(/^min_age_days:/);
    expect(issues({ max_files_per_run: 0 })[0]).toMatch(/^max_files_per_run:/);
  });
});
