import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, link, lstat, mkdir, open, readdir, readFile, stat, symlink, utimes } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PlaybookInputError } from "../types.ts";
import { scanOpenFiles } from "./open-files.ts";
import { createDiskFullPlaybook, diskFullPlaybook } from "./playbook.ts";
import { filesystemUsage } from "./usage.ts";
import { file, OLD, runDiskFull, scanVisibleOpenFiles, stepsOf, tempDir, testRun, type RecordedStep } from "./test-support.ts";

const playbook = createDiskFullPlaybook({ scanOpenFiles: scanVisibleOpenFiles });

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

const labels = () => ({ alertname: "NodeFilesystemAlmostOutOfSpace", mountpoint: dir });

/** Every path listed under `key` in the data of the steps with `action`. */
function recorded(steps: RecordedStep[], action: string, key: string): string[] {
  return stepsOf(steps, action).flatMap((s) => ((s.outcome?.data as Record<string, { path: string }[]>)[key] ?? []).map((f) => f.path));
}

describe("disk-full: rotated logs", () => {
  it("removes exactly the old rotated logs in log_dirs and nothing else", async () => {
    const logs = path.join(dir, "var/log");
    const outside = path.join(dir, "outside");
    const gone = [
      await file(path.join(logs, "app.log.1"), 4000, OLD),
      await file(path.join(logs, "app.log.2.gz"), 3000, OLD),
      await file(path.join(logs, "syslog-20260101"), 2000, OLD),
      await file(path.join(logs, "nginx/access.log.3"), 1000, OLD),
    ];
    const kept = [
      await file(path.join(logs, "app.log"), 1000, OLD), // the live log, however old
      await file(path.join(logs, "app.log.3"), 500), // rotated but recent
      await file(path.join(dir, "var/sibling/old.log.1"), 700, OLD), // not a configured folder
      await file(path.join(outside, "target.log.1"), 800, OLD), // reached only through symlinks
      await file(path.join(outside, "sub/deep.log.1"), 900, OLD),
    ];
    await symlink(path.join(outside, "target.log.1"), path.join(logs, "link.log.1"));
    await symlink(path.join(outside, "sub"), path.join(logs, "linked-dir"));

    const { ctx, steps } = testRun({ log_dirs: [logs] }, labels());
    const result = await runDiskFull(playbook, ctx);

    for (const p of gone) expect(existsSync(p), p).toBe(false);
    for (const p of kept) expect(existsSync(p), p).toBe(true);
    expect((await lstat(path.join(logs, "link.log.1"))).isSymbolicLink()).toBe(true);
    expect((await lstat(path.join(logs, "linked-dir"))).isSymbolicLink()).toBe(true);

    expect(result.status).toBe("succeeded");
    expect(result.details).toMatchObject({ freed_bytes: 10_000, files_removed: 4, files_compressed: 0 });
    expect(result.summary).toMatch(new RegExp(`^freed 9\\.8 KiB on ${dir} \\(logs 9\\.8 KiB\\); usage \\d+% -> \\d+%$`));
    expect(recorded(steps, "remove_files", "removed").sort()).toEqual([...gone].sort());
    // The walk says which symlinks it refused to follow.
    const find = stepsOf(steps, "find_files")[0]?.outcome?.data as { skipped: { path: string; reason: string }[] };
    expect(find.skipped).toEqual(
      expect.arrayContaining([
        { path: path.join(logs, "link.log.1"), reason: "symbolic link (never followed)" },
        { path: path.join(logs, "linked-dir"), reason: "symbolic link (never followed)" },
      ]),
    );
  });

  it("leaves a rotated log that a process still holds open", async () => {
    const logs = path.join(dir, "logs");
    const held = await file(path.join(logs, "held.log.1"), 100, OLD);
    const free = await file(path.join(logs, "free.log.1"), 100, OLD);
    const fh = await open(held, "r");
    try {
      const { ctx, steps } = testRun({ log_dirs: [logs] }, labels());
      await runDiskFull(playbook, ctx);
      expect(existsSync(held)).toBe(true);
      expect(existsSync(free)).toBe(false);
      const data = stepsOf(steps, "remove_files")[0]?.outcome?.data as { skipped: unknown[] };
      expect(data.skipped).toEqual([{ path: held, reason: "open by a running process" }]);
    } finally {
      await fh.close();
    }
  });

  it("skips a hard-linked file: removing one name frees nothing", async () => {
    const logs = path.join(dir, "logs");
    const a = await file(path.join(logs, "a.log.1"), 100, OLD);
    await link(a, path.join(dir, "other-name"));
    const { ctx } = testRun({ log_dirs: [logs] }, labels());
    await runDiskFull(playbook, ctx);
    expect(existsSync(a)).toBe(true);
  });

  it("skips configured folders that are missing or on another filesystem, recording why", async () => {
    const shm = "/dev/shm";
    const shmDev = existsSync(shm) ? (await stat(shm)).dev : null;
    const otherFs = shmDev !== null && shmDev !== (await stat(dir)).dev;
    const logs = path.join(dir, "logs");
    const old = await file(path.join(logs, "a.log.1"), 100, OLD);
    const dirs = [path.join(dir, "missing"), logs, ...(otherFs ? [shm] : [])];
    const { ctx, steps } = testRun({ log_dirs: dirs }, labels());
    await runDiskFull(playbook, ctx);
    expect(existsSync(old)).toBe(false);
    const checks = stepsOf(steps, "check_dir").map((s) => [s.args.dir, s.outcome?.status, s.outcome?.detail]);
    expect(checks[0]).toEqual([path.join(dir, "missing"), "skipped", "not cleaned: does not exist"]);
    expect(checks[1]).toEqual([logs, "ok", `on ${dir}`]);
    if (otherFs) expect(checks[2]).toEqual([shm, "skipped", `not cleaned: is on another filesystem than ${dir}`]);
    expect(stepsOf(steps, "find_files")).toHaveLength(1);
  });

  it("stops at max_files_per_run, oldest first", async () => {
    const logs = path.join(dir, "logs");
    const oldest = await file(path.join(logs, "a.log.1"), 10, new Date(Date.now() - 40 * 86_400_000));
    const older = await file(path.join(logs, "b.log.1"), 10, new Date(Date.now() - 30 * 86_400_000));
    const newest = await file(path.join(logs, "c.log.1"), 10, new Date(Date.now() - 20 * 86_400_000));
    const { ctx } = testRun({ log_dirs: [logs], max_files_per_run: 2 }, labels());
    const result = await runDiskFull(playbook, ctx);
    expect([existsSync(oldest), existsSync(older), existsSync(newest)]).toEqual([false, false, true]);
    expect(result.summary).toContain("; 1 more files left by max_files_per_run");
  });
});

describe("disk-full: temp files and backups", () => {
  it("removes temp files of any name older than temp_min_age_days", async () => {
    const tmp = path.join(dir, "tmp");
    const old = [await file(path.join(tmp, "session-abc"), 300, OLD), await file(path.join(tmp, "nested/x.bin"), 200, OLD)];
    const tenDays = new Date(Date.now() - 10 * 86_400_000);
    const keptByAge = await file(path.join(tmp, "ten-days-old"), 100, tenDays);
    const recent = await file(path.join(tmp, "fresh"), 100);
    const { ctx, steps } = testRun({ temp_dirs: [tmp], temp_min_age_days: 14 }, labels());
    const result = await runDiskFull(playbook, ctx);
    for (const p of old) expect(existsSync(p)).toBe(false);
    expect(existsSync(keptByAge)).toBe(true);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(path.join(tmp, "nested"))).toBe(true); // folders are left in place
    expect(stepsOf(steps, "remove_files")[0]?.args.reason).toBe("temporary files older than 14d");
    expect(result.summary).toContain("(temp 500 B)");
  });

  it("gzips old backups in place, keeping content, mode and mtime, then removes the original", async () => {
    const backups = path.join(dir, "backups");
    const content = "INSERT INTO t VALUES (1, 'hello');\n".repeat(2000);
    const dump = await file(path.join(backups, "db-2026-01-01.sql"), content);
    await chmod(dump, 0o640);
    await utimes(dump, OLD, OLD);
    const already = await file(path.join(backups, "db-2025-12-01.sql.gz"), 5000, OLD);
    const random = await file(path.join(backups, "random.bin"), randomBytes(4096), OLD);
    const recent = await file(path.join(backups, "today.sql"), content);

    const { ctx, steps } = testRun({ backup_dirs: [backups] }, labels());
    const result = await runDiskFull(playbook, ctx);

    expect(existsSync(dump)).toBe(false);
    const gz = `${dump}.gz`;
    expect(gunzipSync(await readFile(gz)).toString()).toBe(content);
    const st = await stat(gz);
    expect(st.mode & 0o777).toBe(0o640);
    expect(Math.round(st.mtimeMs / 1000)).toBe(Math.round(OLD.getTime() / 1000));
    expect((await stat(already)).size).toBe(5000);
    expect(existsSync(random)).toBe(true); // gzip would not shrink it
    expect(existsSync(`${random}.gz`)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect((await readdir(backups)).filter((n) => n.endsWith(".ccm-tmp"))).toEqual([]);

    const step = stepsOf(steps, "compress_files")[0]?.outcome;
    const data = step?.data as { compressed: { path: string; bytes_before: number; bytes_after: number }[]; skipped: unknown[] };
    expect(data.compressed).toEqual([{ path: dump, gz_path: gz, bytes_before: content.length, bytes_after: st.size }]);
    expect(data.skipped).toEqual([{ path: random, reason: "gzip would not make it smaller" }]);
    expect(result.details).toMatchObject({ files_compressed: 1, freed_bytes: content.length - st.size });
  });
});

describe("disk-full: dry run", () => {
  it("changes nothing and reports what it would free", async () => {
    const logs = path.join(dir, "logs");
    const backups = path.join(dir, "backups");
    const a = await file(path.join(logs, "a.log.1"), 1024, OLD);
    const b = await file(path.join(backups, "b.sql"), 2048, OLD);
    const { ctx, steps } = testRun({ log_dirs: [logs], backup_dirs: [backups], target_used_percent: 100 }, labels(), {
      dryRun: true,
    });
    const result = await runDiskFull(playbook, ctx);
    expect(existsSync(a)).toBe(true);
    expect(existsSync(b)).toBe(true);
    expect(existsSync(`${b}.gz`)).toBe(false);
    expect(result.summary).toMatch(/^dry run: would free 1\.0 KiB on .* \(logs 1\.0 KiB\) and compress 1 backups of 2\.0 KiB; usage \d+% now$/);
    expect(result.details).toMatchObject({ freed_bytes: 0, files_removed: 0, would_free_bytes: 1024, would_remove: 1 });
    expect(stepsOf(steps, "remove_files")[0]?.outcome).toMatchObject({
      status: "dry_run",
      data: { would_remove: [{ path: a, bytes: 1024 }] },
    });
    expect(stepsOf(steps, "compress_files")[0]?.outcome?.status).toBe("dry_run");
  });
});

describe("disk-full: the mountpoint label is untrusted", () => {
  it.each([
    ["$(touch /tmp/pwned)", /must be an absolute path/],
    ["; rm -rf /", /must be an absolute path/],
    ["var/log", /must be an absolute path/],
    ["/$(touch /tmp/pwned)", /cannot be read on this host \(ENOENT\)/],
    ["/var/../etc", /must not contain '.' or '..'/],
    ["/tmp\nx", /control characters/],
  ])("rejects %j with a PlaybookInputError, escalates and touches nothing", async (mountpoint, message) => {
    const pwnedBefore = existsSync("/tmp/pwned");
    const logs = path.join(dir, "logs");
    const old = await file(path.join(logs, "a.log.1"), 10, OLD);
    const { ctx, steps } = testRun({ log_dirs: [logs] }, { alertname: "DiskFull", mountpoint });
    const result = await runDiskFull(playbook, ctx);
    expect(result.status).toBe("escalated");
    expect(result.summary).toMatch(message);
    expect(existsSync(old)).toBe(true);
    if (!pwnedBefore) expect(existsSync("/tmp/pwned")).toBe(false);
    expect(steps.map((s) => s.action)).toEqual(["resolve_mountpoint"]);
    expect(steps[0]?.error).toBeInstanceOf(PlaybookInputError);
    expect((steps[0]?.error as Error).message).toMatch(message);
  });

  it("rejects a missing label and a file that is not a folder", async () => {
    const f = await file(path.join(dir, "plain"), 1);
    const cases: Record<string, string>[] = [{ alertname: "DiskFull" }, { alertname: "DiskFull", mountpoint: f }];
    for (const l of cases) {
      const { ctx, steps } = testRun({}, l);
      expect((await runDiskFull(playbook, ctx)).status).toBe("escalated");
      expect(steps[0]?.error).toBeInstanceOf(PlaybookInputError);
    }
  });
});

describe("disk-full: verify", () => {
  it("succeeds at or below target_used_percent", async () => {
    const result = await runDiskFull(playbook, testRun({ target_used_percent: 100 }, labels()).ctx);
    expect(result.status).toBe("succeeded");
  });

  it("escalates with the numbers when usage stays above target", async () => {
    const usage = await filesystemUsage(dir);
    // The test's own filesystem is never this empty; if it were, there would be nothing to assert.
    expect(usage.usedPercent).toBeGreaterThan(1);
    const logs = path.join(dir, "logs");
    await file(path.join(logs, "a.log.1"), 2048, OLD);
    const { ctx, steps } = testRun({ log_dirs: [logs], target_used_percent: 1 }, labels());
    const result = await runDiskFull(playbook, ctx);
    expect(result.status).toBe("escalated");
    expect(result.summary).toMatch(
      new RegExp(`^freed 2\\.0 KiB on ${dir} \\(logs 2\\.0 KiB\\); usage \\d+% -> \\d+%, still above 1%: needs a human$`),
    );
    expect(result.details).toMatchObject({ freed_bytes: 2048, target_used_percent: 1 });
    expect((result.details?.after as { usedPercent: number }).usedPercent).toBeGreaterThan(1);
    expect(steps.map((s) => `${s.phase}/${s.action}`)).toEqual([
      "diagnose/resolve_mountpoint",
      "diagnose/filesystem_usage",
      "diagnose/check_dir",
      "diagnose/scan_open_files",
      "remediate/safety_rails", // the engine's rails, once before acting
      "remediate/find_files",
      "remediate/remove_files",
      "verify/filesystem_usage",
    ]);
  });
});

describe("disk-full: audit trail", () => {
  it("records every path and size, in batches of at most 100 files", async () => {
    const logs = path.join(dir, "logs");
    const paths: string[] = [];
    for (let i = 0; i < 250; i++) paths.push(await file(path.join(logs, `f${i}.log.1`), i + 1, OLD));
    const { ctx, steps } = testRun({ log_dirs: [logs] }, labels());
    await runDiskFull(playbook, ctx);
    const batches = stepsOf(steps, "remove_files");
    expect(batches.map((s) => (s.args.files as unknown[]).length)).toEqual([100, 100, 50]);
    const planned = batches.flatMap((s) => s.args.files as { path: string; bytes: number }[]);
    expect(planned.map((f) => f.path).sort()).toEqual([...paths].sort());
    expect(planned.find((f) => f.path === path.join(logs, "f9.log.1"))?.bytes).toBe(10);
    expect(recorded(steps, "remove_files", "removed").sort()).toEqual([...paths].sort());
    expect(batches[0]?.args).toMatchObject({ dir: logs, reason: "rotated logs older than 7d" });
    expect(batches[0]?.outcome?.detail).toMatch(/^removed 100 files \(\d+(\.\d)? [KMG]?i?B\)$/);
  });
});

describe("disk-full: cancellation and an incomplete open-file check", () => {
  it("stops between batches when the run is cancelled and says how far it got", async () => {
    const logs = path.join(dir, "logs");
    for (let i = 0; i < 150; i++) await file(path.join(logs, `f${i}.log.1`), 10, OLD);
    const abort = new AbortController();
    const { ctx, steps } = testRun({ log_dirs: [logs] }, labels(), {
      signal: abort.signal,
      afterStep: (s) => {
        if (s.action === "remove_files") abort.abort(new Error("cancelled"));
      },
    });
    const result = await runDiskFull(playbook, ctx);
    // The playbook's own result is "failed"; the engine reports any unverified remediation as escalated.
    expect(result.status).toBe("escalated");
    expect(result.summary).toMatch(/^stopped \(run cancelled\): freed 1000 B/);
    expect(stepsOf(steps, "remove_files")).toHaveLength(1);
    expect(await readdir(logs)).toHaveLength(50);
  });

  it("does nothing and escalates when some process's open files cannot be seen", async () => {
    const logs = path.join(dir, "logs");
    const old = await file(path.join(logs, "a.log.1"), 10, OLD);
    const blind = createDiskFullPlaybook({
      scanOpenFiles: async () => ({
        inodes: new Set<string>(),
        processes: 1,
        unreadable: [{ pid: 4242, command: "java", code: "EACCES" }],
        complete: false,
      }),
    });
    const { ctx, steps } = testRun({ log_dirs: [logs], target_used_percent: 100 }, labels());
    const result = await runDiskFull(blind, ctx);
    expect(existsSync(old)).toBe(true);
    expect(result.status).toBe("escalated");
    expect(result.summary).toContain("open-file check incomplete (cannot see the open files of pid 4242 (java): EACCES)");
    expect(result.summary).toMatch(/needs a human$/);
    expect(stepsOf(steps, "find_files")).toHaveLength(0);
  });

  it("a dry run with a blind open-file check still lists what it would remove, removes nothing, and says a live run would refuse", async () => {
    const logs = path.join(dir, "logs");
    const old = await file(path.join(logs, "a.log.1"), 10, OLD);
    const blind = createDiskFullPlaybook({
      scanOpenFiles: async () => ({
        inodes: new Set<string>(),
        processes: 1,
        unreadable: [{ pid: 4242, command: "java", code: "EACCES" }],
        complete: false,
      }),
    });
    const { ctx, steps } = testRun({ log_dirs: [logs], target_used_percent: 100 }, labels(), { dryRun: true });
    const result = await runDiskFull(blind, ctx);
    expect(existsSync(old)).toBe(true);
    expect(result.status).toBe("escalated");
    expect(result.summary).toMatch(/^dry run: would free 10 B .*a live run would remove nothing/);
    expect(JSON.stringify(stepsOf(steps, "remove_files"))).toContain(old);
  });

  it("rescans before each batch and acts on nothing once a scan comes back incomplete", async () => {
    const logs = path.join(dir, "logs");
    const old = await file(path.join(logs, "a.log.1"), 10, OLD);
    let scans = 0;
    const flaky = createDiskFullPlaybook({
      scanOpenFiles: async () => {
        const o = await scanVisibleOpenFiles();
        // Complete for the diagnose step, then a process appears that we cannot see.
        return ++scans === 1 ? o : { ...o, unreadable: [{ pid: 7, command: null, code: "EACCES" }], complete: false };
      },
    });
    const { ctx, steps } = testRun({ log_dirs: [logs], target_used_percent: 100 }, labels());
    const result = await runDiskFull(flaky, ctx);
    expect(existsSync(old)).toBe(true);
    expect(result.status).toBe("escalated");
    expect(stepsOf(steps, "remove_files")[0]?.outcome).toMatchObject({
      status: "skipped",
      data: { skipped: [{ path: old, reason: "open-file check incomplete" }] },
    });
  });

  it("batches acted on within OPEN_FILES_MAX_AGE_MS share one /proc scan (a scan costs ~100 ms)", async () => {
    const logs = path.join(dir, "logs");
    for (let i = 0; i < 250; i++) await file(path.join(logs, `f${i}.log.1`), 10, OLD);
    let scans = 0;
    const counting = createDiskFullPlaybook({
      scanOpenFiles: async () => {
        scans++;
        return scanVisibleOpenFiles();
      },
    });
    const { ctx, steps } = testRun({ log_dirs: [logs], target_used_percent: 100 }, labels());
    const result = await runDiskFull(counting, ctx);
    expect(result.status).toBe("succeeded");
    expect(stepsOf(steps, "remove_files")).toHaveLength(3);
    // One scan for diagnosis, then at most one per 500 ms of batches (three batches of 10-byte files take far less).
    expect(scans).toBeLessThan(1 + 3);
    expect(await readdir(logs)).toHaveLength(0);
  });

  it("the built-in playbook acts only when its real /proc scan is complete", async () => {
    const logs = path.join(dir, "logs");
    await mkdir(logs);
    const old = await file(path.join(logs, "a.log.1"), 10, OLD);
    const complete = (await scanOpenFiles()).complete;
    const result = await runDiskFull(diskFullPlaybook, testRun({ log_dirs: [logs], target_used_percent: 100 }, labels()).ctx);
    // Some sandboxes hide a process even from root; then the only safe outcome is to leave the file.
    expect(existsSync(old)).toBe(!complete);
    expect(result.status).toBe(complete ? "succeeded" : "escalated");
  });
});
