import path from "node:path";
import { z } from "zod";
import { globToRegExp } from "./glob.ts";

/** Basenames of rotated logs (logrotate, syslog, journald-style exports). The live `*.log` never matches. */
export const DEFAULT_LOG_PATTERNS = [
  "*.log.[0-9]*", // app.log.1, app.log.2.gz, app.log.10
  "*.[0-9]", // syslog.1, messages.3
  "*.[0-9][0-9]", // messages.12
  "*.gz",
  "*.xz",
  "*.bz2",
  "*.zst",
  "*.old",
  "*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]", // syslog-20260101 (logrotate dateext)
  "*.log-[0-9]*", // app.log-20260101, app.log-2026-01-01.gz
] as const;

const configuredDir = z
  .string()
  .min(1)
  .refine((p) => path.isAbsolute(p), { error: "must be an absolute path (the playbook never guesses a folder)" })
  .refine((p) => !p.includes("\0"), { error: "must not contain a NUL byte" })
  .refine((p) => !p.split("/").some((s) => s === "." || s === ".."), { error: "must not contain '.' or '..' segments" })
  // Cleaning "/" would make every old file on the host a candidate.
  .refine((p) => path.resolve(p) !== "/", { error: "must not be the root folder /" });

const basenameGlob = z
  .string()
  .min(1)
  .refine((g) => !g.includes("/"), { error: "is matched against a file's basename and must not contain '/'" })
  .refine(
    (g) => {
      try {
        globToRegExp(g);
        return true;
      } catch {
        return false;
      }
    },
    { error: "is not a valid pattern (only *, ? and [...] are special)" },
  );

const days = z.number().min(0);

/** `playbooks.disk-full` in the agent config. Unknown keys are errors; every key has a default. */
export const diskFullConfigSchema = z
  .object({
    // Folders whose rotated logs may be removed. Only folders on the alert's filesystem are touched.
    log_dirs: z.array(configuredDir).default([]),
    // Folders where any regular file older than temp_min_age_days may be removed.
    temp_dirs: z.array(configuredDir).default([]),
    // Folders whose old uncompressed backups are gzip-compressed in place.
    backup_dirs: z.array(configuredDir).default([]),
    // A file must be untouched (mtime) for this long before the playbook acts on it.
    min_age_days: days.default(7),
    // Age for temp_dirs; min_age_days when absent.
    temp_min_age_days: days.optional(),
    // Age for backup_dirs; min_age_days when absent.
    backup_min_age_days: days.optional(),
    // Basename globs of rotated logs in log_dirs.
    log_patterns: z.array(basenameGlob).default([...DEFAULT_LOG_PATTERNS]),
    // Basename globs of backups in backup_dirs; already-compressed files are always skipped.
    backup_patterns: z.array(basenameGlob).default(["*"]),
    // The run succeeds when usage is at or below this after cleaning; above it, it escalates.
    target_used_percent: z.number().min(1).max(100).default(80),
    // Commands (/proc/<pid>/comm) whose open files may be unreadable without blocking the run, e.g. a
    // sandbox or container init that hides its fds even from root. Empty: any unreadable process stops it.
    ignore_unreadable_processes: z.array(z.string().min(1).max(15)).default([]),
    // Bounds one run's work so a runaway folder cannot keep the agent busy for hours.
    max_files_per_run: z.number().int().min(1).default(100_000),
  })
  .strict();

export type DiskFullConfig = z.infer<typeof diskFullConfigSchema>;

/** The age thresholds with the optional per-kind ones filled in. */
export function ageThresholds(config: DiskFullConfig): { logs: number; temp: number; backups: number } {
  return {
    logs: config.min_age_days,
    temp: config.temp_min_age_days ?? config.min_age_days,
    backups: config.backup_min_age_days ?? config.min_age_days,
  };
}
