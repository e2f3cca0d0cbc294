import { spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHostActions } from "../actions/host-actions.ts";
import { httpProbe } from "../actions/probe.ts";
import { readProcess } from "../actions/proc-table.ts";
import { runPlaybook } from "../engine/run-playbook.ts";
import { engineOptions, memoryContext, memoryHooks } from "../engine/test-support.ts";
import { highMemoryConfigSchema } from "./config.ts";
import { highMemoryPlaybook } from "./playbook.ts";

const FIXTURES = fileURLToPath(new URL("../../test-fixtures/", import.meta.url));
const MIB = 1024 * 1024;
// The hog holds 600 MiB; the blame threshold is 400 MiB of this machine's memory, whatever its size.
const HOG_MB = 600;
const config = (over: Record<string, unknown> = {}) =>
  highMemoryConfigSchema.parse({ min_used_percent: 0, min_share_percent: (100 * 400 * MIB) / os.totalmem(), verify_within_ms: 30_000, ...over });

let dir: string;
let port: number;
let strangers: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function svc(...args: string[]): Promise<void> {
  const { execa } = await import("execa");
  await execa(process.execPath, [path.join(dir, "fake-service.mjs"), ...args], { reject: false });
}
const hogPid = async () => Number(await readFile(path.join(dir, "hog.pid"), "utf8"));
const restarts = async () =>
  (await readFile(path.join(dir, "calls.log"), "utf8").catch(() => "")).split("\n").filter((l) => l.startsWith('["restart"')).length;

function actions(hog: Record<string, unknown> = {}) {
  const cmd = (sub: string) => [process.execPath, path.join(dir, "fake-service.mjs"), sub, "{service}"];
  return createHostActions({
    service_manager: "command",
    service_commands: { status: cmd("status"), restart: cmd("restart"), logs: cmd("logs") },
    services: { hog: { probe: { http: `http://127.0.0.1:${port}/healthz` }, pid_file: path.join(dir, "hog.pid"), ...hog } },
    log_roots: [dir],
  });
}

/** Start the allow-listed service and make it hold HOG_MB resident. */
async function startLeakingService(): Promise<number> {
  await svc("restart", "hog");
  const ok = () => httpProbe(`http://127.0.0.1:${port}/healthz`, [200], 500, new AbortController().signal);
  await expect.poll(async () => (await ok()).ok, { timeout: 10_000 }).toBe(true);
  expect((await httpProbe(`http://127.0.0.1:${port}/leak?mb=${HOG_MB}`, [200], 10_000, new AbortController().signal)).ok).toBe(true);
  const pid = await hogPid();
  expect((await readProcess(pid))?.rssBytes).toBeGreaterThan((HOG_MB - 50) * MIB);
  return pid;
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-high-memory-"));
  for (const f of ["fake-service.mjs", "server.mjs"]) await copyFile(path.join(FIXTURES, f), path.join(dir, f));
  port = await freePort();
  await writeFile(path.join(dir, "services.json"), JSON.stringify({ hog: { port } }));
});
afterEach(async () => {
  const pid = await hogPid().catch(() => 0);
  for (const p of [pid, ...strangers.map((c) => c.pid ?? 0)]) {
    try {
      if (p) process.kill(p, "SIGKILL");
    } catch {
      // already gone
    }
  }
  strangers = [];
  await rm(dir, { recursive: true, force: true });
});

const labels = { alertname: "HostOutOfMemory", instance: "web-1:9100" };

describe("high-memory on real processes", () => {
  // retry: the fake service manager restarts a 600 MiB process; on a loaded 2-core machine the new one
  // has once failed to come up within the verify window (a fixture race, seen in 1 of ~8 full runs).
  it("restarts the allow-listed service holding the memory and verifies it came back small", { retry: 1 }, async () => {
    const first = await startLeakingService();
    const { ctx, steps } = memoryContext(config(), labels, { actions: actions() });
    const hooks = memoryHooks();
    const r = await runPlaybook(highMemoryPlaybook, ctx, hooks, engineOptions({ match: highMemoryPlaybook.match(labels) ?? undefined }));

    expect(r.status, r.summary).toBe("succeeded");
    expect(r.summary).toMatch(/^restarted hog; it is running and HTTP 200; its memory 6\d\d\.\d MiB -> \d+\.\d MiB, host \d+% used$/);
    expect(hooks.outcomes).toEqual([true]);
    expect(r.proposal).toEqual([{ action: "restart_service", target: "hog", detail: expect.stringMatching(/^hog holds 6\d\d\.\d MiB/) }]);
    const second = await hogPid();
    expect(second).not.toBe(first);
    expect((await readProcess(second))?.rssBytes).toBeLessThan(200 * MIB);
    const findings = r.details.findings as { top_processes: Array<{ pid: number; service: string; owned_via: string }> };
    expect(findings.top_processes[0]).toMatchObject({ pid: first, service: "hog", owned_via: "pid_file" });
    expect(steps.map((s) => `${s.phase}/${s.action}`)).toEqual([
      "diagnose/resolve_service",
      "diagnose/memory_usage",
      "diagnose/top_processes",
      "diagnose/service_logs",
      "remediate/safety_rails",
      "remediate/restart_service",
      "verify/service_status",
      "verify/probe",
      "verify/memory_usage",
      "verify/top_processes",
    ]);
    expect(await restarts()).toBe(2); // the test's start, then the playbook's restart
  });

  it("escalates naming a process that is not an allow-listed service, and restarts nothing", async () => {
    const child = spawn(process.execPath, ["-e", `const b = Buffer.alloc(${HOG_MB} * 1024 * 1024, 1); setInterval(() => b[0]++, 1000)`], { stdio: "ignore" });
    strangers.push(child);
    const pid = child.pid as number;
    await expect.poll(async () => (await readProcess(pid))?.rssBytes ?? 0, { timeout: 10_000 }).toBeGreaterThan((HOG_MB - 50) * MIB);

    const { ctx } = memoryContext(config(), labels, { actions: actions() });
    const r = await runPlaybook(highMemoryPlaybook, ctx, memoryHooks(), engineOptions());
    expect(r.status).toBe("escalated");
    expect(r.summary).toContain(`pid ${pid} (node: `);
    expect(r.summary).toMatch(/it is not an allow-listed service \(actions\.services\), so nothing is restarted: needs a human$/);
    const findings = r.details.findings as { top_processes: Array<Record<string, unknown>> };
    expect(findings.top_processes[0]).toMatchObject({ pid, name: "node", service: null, command: expect.stringContaining("Buffer.alloc") });
    expect(findings.top_processes[0]?.rss_bytes).toBeGreaterThan((HOG_MB - 50) * MIB);
    expect(await restarts()).toBe(0);
  });

  it("escalates when the service is allow-listed but restart: false", async () => {
    const pid = await startLeakingService();
    const { ctx } = memoryContext(config(), labels, { actions: actions({ restart: false }) });
    const r = await runPlaybook(highMemoryPlaybook, ctx, memoryHooks(), engineOptions());
    expect(r.status).toBe("escalated");
    expect(r.summary).toMatch(/service hog uses 6\d\d\.\d MiB \(\d+% of memory\); restart is not allowed for it/);
    expect(await hogPid()).toBe(pid);
  });

  it("does nothing when host memory is below the threshold, and a dry run restarts nothing", async () => {
    const pid = await startLeakingService();
    const calm = memoryContext(config({ min_used_percent: 100 }), labels, { actions: actions() });
    const r1 = await runPlaybook(highMemoryPlaybook, calm.ctx, memoryHooks(), engineOptions());
    expect(r1.status).toBe("succeeded");
    expect(r1.summary).toMatch(/^memory \d+% used, below 100%: nothing to do$/);

    const dry = memoryContext(config(), labels, { actions: actions(), dryRun: true });
    const r2 = await runPlaybook(highMemoryPlaybook, dry.ctx, memoryHooks(), engineOptions());
    expect(r2.summary).toMatch(/^dry run: would restart hog/);
    expect(await hogPid()).toBe(pid);
    expect(await restarts()).toBe(1);
  });

  it("never touches a service the alert names that is not in the allow-list", async () => {
    const { ctx, steps } = memoryContext(config(), { ...labels, service: "postgres" }, { actions: actions() });
    const r = await runPlaybook(highMemoryPlaybook, ctx, memoryHooks(), engineOptions());
    expect(r.status).toBe("escalated");
    expect(r.summary).toMatch(/^service "postgres" is not in this host's allow-list/);
    expect(steps.map((s) => s.action)).toEqual(["resolve_service"]);
  });
});
