import { execFile } from "node:child_process";
import { open, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeUnreadable, inodeKey, scanOpenFiles } from "./open-files.ts";
import { file, tempDir } from "./test-support.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

describe("scanOpenFiles", () => {
  it("sees a file this process holds open, and not once it is closed", async () => {
    const p = await file(path.join(dir, "held.log.1"), 10);
    const key = inodeKey(await stat(p));
    const fh = await open(p, "r");
    try {
      const o = await scanOpenFiles();
      expect(o.inodes.has(key)).toBe(true);
      expect(o.processes).toBeGreaterThan(0);
    } finally {
      await fh.close();
    }
    expect((await scanOpenFiles()).inodes.has(key)).toBe(false);
  });

  // A real unprivileged process: it cannot read root's /proc/<pid>/fd, so it must report itself incomplete.
  it.runIf(process.getuid?.() === 0)("reports itself incomplete when run as a user who cannot see every process", async () => {
    const moduleUrl = new URL("./open-files.ts", import.meta.url).href;
    const script = `const m = await import(${JSON.stringify(moduleUrl)}); const o = await m.scanOpenFiles();` +
      `console.log(JSON.stringify({ complete: o.complete, unreadable: o.unreadable.length }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: path.dirname(fileURLToPath(import.meta.url)),
      uid: 65534,
      gid: 65534,
      timeout: 30_000,
      env: { ...process.env, HOME: "/tmp" },
    });
    const r = JSON.parse(stdout.trim().split("\n").pop() as string);
    expect(r.complete).toBe(false);
    expect(r.unreadable).toBeGreaterThan(0);
  });
});

describe("describeUnreadable", () => {
  it("names the first processes and counts the rest", () => {
    const u = [1, 2, 3].map((pid) => ({ pid, command: pid === 1 ? "init" : null, code: "EACCES" }));
    expect(describeUnreadable(u, 2)).toBe("pid 1 (init): EACCES, pid 2: EACCES and 1 more");
  });
});

describe("applyIgnored", () => {
  const base = {
    inodes: new Set<string>(),
    processes: 3,
    unreadable: [
      { pid: 1, command: "process_api", code: "EACCES" },
      { pid: 9, command: "java", code: "EACCES" },
    ],
    complete: false,
  };
  it("only the listed commands stop counting; the rest still make the check incomplete", async () => {
    const { applyIgnored } = await import("./open-files.ts");
    const one = applyIgnored(base, ["process_api"]);
    expect(one.complete).toBe(false);
    expect(one.unreadable.map((u) => u.pid)).toEqual([9]);
    expect(one.ignored?.map((u) => u.pid)).toEqual([1]);
    const both = applyIgnored(base, ["process_api", "java"]);
    expect(both.complete).toBe(true);
    expect(applyIgnored(base, [])).toBe(base);
  });
});
