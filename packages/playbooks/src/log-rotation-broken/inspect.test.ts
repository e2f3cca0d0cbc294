import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectLog, lastRotatedByState } from "./inspect.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-inspect-log-"));
  for (const f of ["app.log", "app.log.1", "app.log.2.gz", "app.log-20260101", "app.log-2026-01-02.gz", "app.logger", "app.log.bak", "other.log.1"]) {
    await writeFile(path.join(dir, f), f);
  }
  await writeFile(path.join(dir, "state"), `logrotate state -- version 2\n"${dir}/other.log" 2026-1-1-0:0:0\n"${dir}/app.log" 2026-11-23-18:38:57\n`);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("inspectLog", () => {
  it("finds rotated siblings by logrotate's suffixes only", async () => {
    const log = await inspectLog(path.join(dir, "app.log"));
    expect(log).toMatchObject({ exists: true, sizeBytes: 7 });
    expect(log.rotated.map((r) => r.name).sort()).toEqual(["app.log-2026-01-02.gz", "app.log-20260101", "app.log.1", "app.log.2.gz"]);
  });

  it("reports a missing log as missing", async () => {
    expect(await inspectLog(path.join(dir, "gone.log"))).toMatchObject({ exists: false, sizeBytes: 0, inode: null });
  });

  it("reads the last rotation of a log from logrotate's state file (local time)", async () => {
    expect(await lastRotatedByState(path.join(dir, "state"), [path.join(dir, "app.log")])).toBe(new Date(2026, 10, 23, 18, 38, 57).toISOString());
    expect(await lastRotatedByState(path.join(dir, "state"), [path.join(dir, "nope.log")])).toBeNull();
    expect(await lastRotatedByState(path.join(dir, "missing-state"), [path.join(dir, "app.log")])).toBeNull();
  });
});
