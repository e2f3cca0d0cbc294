import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { readCgroup, readMemoryUsage, readProcess, readProcTable, sampleCpu } from "./proc-table.ts";

describe("proc table", () => {
  it("reads a real child: parent, name, RSS, command line; the table holds it", async () => {
    const child = spawn(process.execPath, ["-e", "const b = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000)", "arg with (parens)"], { stdio: "ignore" });
    try {
      const pid = child.pid as number;
      await expect.poll(async () => (await readProcess(pid))?.rssBytes ?? 0, { timeout: 10_000 }).toBeGreaterThan(60 * 1024 * 1024);
      const p = await readProcess(pid);
      expect(p).toMatchObject({ pid, ppid: process.pid, name: "node", uid: process.getuid?.() });
      expect(p?.command).toContain("arg with (parens)");
      expect((await readProcTable()).some((x) => x.pid === pid)).toBe(true);
      expect(typeof (await readCgroup(pid))).toBe("string");
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("samples CPU: a busy loop shows up with CPU time, host busy share in [0, 100]", async () => {
    const child = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    try {
      const s = await sampleCpu(500, new AbortController().signal);
      expect(s.busyPercent).toBeGreaterThan(0);
      expect(s.busyPercent).toBeLessThanOrEqual(100);
      expect(s.processes.find((p) => p.pid === child.pid)?.cpuPercent).toBeGreaterThan(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("reads host memory", async () => {
    const m = await readMemoryUsage();
    expect(m.totalBytes).toBeGreaterThan(0);
    expect(m.usedPercent).toBeGreaterThan(0);
    expect(m.usedPercent).toBeLessThan(100);
  });
});
