import { spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHostActions } from "../actions/host-actions.ts";
import { httpProbe } from "../actions/probe.ts";
import { runPlaybook } from "../engine/run-playbook.ts";
import { engineOptions, memoryContext, memoryHooks } from "../engine/test-support.ts";
import { highCpuConfigSchema } from "./config.ts";
import { highCpuPlaybook } from "./playbook.ts";

// Busy loops are kept to about a second of sampling each: this machine has two cores and others test on it,
// so a busy loop may get only a small share of a core (load 12 was seen): thresholds here are low on purpose.
const FIXTURES = fileURLToPath(new URL("../../test-fixtures/", import.meta.url));
const config = (over: Record<string, unknown> = {}) =>
  highCpuConfigSchema.parse({ sample_ms: 1_000, min_busy_percent: 0, min_cpu_percent: 5, top_processes: 50, verify_within_ms: 30_000, ...over });

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
const spinPid = async () => Number(await readFile(path.join(dir, "spin.pid"), "utf8"));
const restarts = async () =>
  (await readFile(path.join(dir, "calls.log"), "utf8").catch(() => "")).split("\n").filter((l) => l.startsWith('["restart"')).length;

function actions() {
  const cmd = (sub: string) => [process.execPath, path.join(dir, "fake-service.mjs"), sub, "{service}"];
  return createHostActions({
    service_manager: "command",
    service_commands: { status: cmd("status"), restart: cmd("restart"), logs: cmd("logs") },
    services: { spin: { probe: { http: `http://127.0.0.1:${port}/healthz` }, pid_file: path.join(dir, "spin.pid") } },
    log_roots: [dir],
  });
}

/** Start the allow-listed service and make it busy-loop one core. */
async function startSpinningService(): Promise<number> {
  await svc("restart", "spin");
  const probe = (p: string) => httpProbe(`http://127.0.0.1:${port}${p}`, [200], 2_000, new AbortController().signal);
  await expect.poll(async () => (await probe("/healthz")).ok, { timeout: 10_000 }).toBe(true);
  expect((await probe("/spin")).ok).toBe(true);
  return spinPid();
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-high-cpu-"));
  for (const f of ["fake-service.mjs", "server.mjs"]) await copyFile(path.join(FIXTURES, f), path.join(dir, f));
  port = await freePort();
  await writeFile(path.join(dir, "services.json"), JSON.stringify({ spin: { port } }));
});
afterEach(async () => {
  const pid = await spinPid().catch(() => 0);
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

const labels = { alertname: "HostHighCpuLoad", instance: "web-1:9100" };

describe("high-cpu on real processes", () => {
  it("escalates with a busy-loop process in the evidence and kills nothing", async () => {
    const child = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    strangers.push(child);
    const { ctx, steps } = memoryContext(config(), labels, { actions: actions() });
    const r = await runPlaybook(highCpuPlaybook, ctx, memoryHooks(), engineOptions({ match: highCpuPlaybook.match(labels) ?? undefined }));

    expect(r.status).toBe("escalated");
    expect(r.summary).toMatch(/^CPU \d+% busy over \d+ ms \(load [\d.]+ on \d+ cores\); /);
    const findings = r.details.findings as { cpu: { busyPercent: number }; top_processes: Array<Record<string, unknown>> };
    const listed = findings.top_processes.find((p) => p.pid === child.pid);
    expect(listed).toMatchObject({ name: "node", service: null, command: expect.stringContaining("for (;;)") });
    expect(listed?.cpu_percent).toBeGreaterThan(5);
    expect(steps.map((s) => `${s.phase}/${s.action}`)).toEqual(["diagnose/resolve_service", "diagnose/cpu_sample", "diagnose/top_processes"]);
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
  });

  it("by default does not restart even an allow-listed service it blames", async () => {
    const pid = await startSpinningService();
    const { ctx } = memoryContext(config(), { ...labels, service: "spin" }, { actions: actions() });
    const r = await runPlaybook(highCpuPlaybook, ctx, memoryHooks(), engineOptions());
    expect(r.status).toBe("escalated");
    expect(r.summary).toMatch(/service spin (\(named by the alert\) )?uses [\d.]+% of a core.*; high-cpu does not restart \(playbooks\.high-cpu\.restart is false\): needs a human$/);
    expect((r.details.findings as { service: string }).service).toBe("spin");
    expect(await spinPid()).toBe(pid);
    expect(await restarts()).toBe(1);
  });

  it("with restart: true restarts the approved allow-listed service and verifies its CPU dropped", async () => {
    const first = await startSpinningService();
    const { ctx } = memoryContext(config({ restart: true }), { ...labels, service: "spin" }, { actions: actions() });
    const hooks = memoryHooks();
    const approval = { decidedBy: "alice", proposal: [{ action: "restart_service", target: "spin" }] };
    const r = await runPlaybook(highCpuPlaybook, ctx, hooks, engineOptions({ approval }));
    expect(r.status, r.summary).toBe("succeeded");
    expect(r.summary).toMatch(/^approved by alice: restarted spin; it is running and HTTP 200; its CPU \d+% -> \d+% of a core, host \d+% busy$/);
    expect(hooks.outcomes).toEqual([true]);
    expect(await spinPid()).not.toBe(first);
  });
});
