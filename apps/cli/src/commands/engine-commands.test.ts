import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestAlerts, PgAgentStore, PgRemediationStore } from "@ccm/store";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { runCcm } from "../../../../test/support/processes.ts";

let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-cli-engine-"));
});
afterAll(async () => {
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function awaitingRun(): Promise<string> {
  const store = new PgAgentStore(db.pool);
  const agentId = await store.enroll({ host: "cli-1", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
  await ingestAlerts(db.pool, "test", null, [
    { fingerprint: randomBytes(6).toString("hex"), status: "firing", labels: { alertname: "ServiceDown", host: "cli-1", service: "web" }, annotations: {}, startsAt: new Date().toISOString(), endsAt: null, generatorURL: null, raw: {} },
  ]);
  const [run] = await store.claimRuns(agentId, 1, 30);
  if (!run) throw new Error("no run");
  await store.startRun(run.run_id, agentId, "service-down", true, false);
  await new PgRemediationStore(db.pool).requestApproval(run.run_id, agentId, "web is stopped", [{ action: "restart_service", target: "web" }], {});
  return run.run_id;
}

describe("ccm approve / reject / pause / resume", () => {
  it("approve by a unique prefix; a second decision exits 1 and says who decided", async () => {
    const runId = await awaitingRun();
    const env = { DATABASE_URL: db.url };
    const ok = await runCcm(["approve", runId.slice(0, 13), "--by", "alice", "--reason", "fine"], env);
    expect(ok.code, ok.output).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^run ${runId} approved by alice; the agent resumes in run [0-9a-f-]{36}`));
    const late = await runCcm(["reject", runId, "--by", "bob"], env);
    expect(late.code).toBe(1);
    expect(late.output).toMatch(/was already approved by alice at .*; nothing changed/);
  });

  it("pause, status and resume flip the fleet switch and say who", async () => {
    const env = { DATABASE_URL: db.url };
    const p = await runCcm(["pause", "--by", "oncall", "--reason", "incident 7"], env);
    expect(p.code, p.output).toBe(0);
    expect(p.stdout).toMatch(/^fleet PAUSED by oncall at .* \(incident 7\): agents diagnose but change nothing/);
    expect((await db.pool.query("select paused, changed_by from ccm.fleet_controls")).rows[0]).toEqual({ paused: true, changed_by: "oncall" });
    expect((await runCcm(["pause", "--status"], env)).stdout).toContain("fleet PAUSED by oncall");
    const r = await runCcm(["resume", "--by", "oncall"], env);
    expect(r.stdout).toMatch(/^fleet active/);
    expect((await db.pool.query("select paused from ccm.fleet_controls")).rows[0].paused).toBe(false);
  });
});

describe("ccm playbooks", () => {
  it("lint: 0 for valid files, 1 naming the problems otherwise", async () => {
    const ok = await runCcm(["playbooks", "lint", "docs/playbooks-examples"], {});
    expect(ok.code, ok.output).toBe(0);
    expect(ok.stdout).toContain("ok    docs/playbooks-examples/restart-worker.yaml (restart-worker 1.0.0)");
    await writeFile(path.join(dir, "bad.yaml"), "name: x\nversion: 1.0.0\n");
    const bad = await runCcm(["playbooks", "lint", dir], {});
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL {2}.*bad\.yaml\n {6}name: /);
  });

  it("test: a dry run that says what would happen, and never touches a service outside the allow-list", async () => {
    const alert = JSON.stringify({ labels: { alertname: "WorkerUnhealthy", env: "prod", worker: "worker-a" } });
    const r = await runCcm(["playbooks", "test", "docs/playbooks-examples/restart-worker.yaml", "--alert", alert], {});
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toContain("restart-worker 1.0.0: matched alertname=WorkerUnhealthy, env!=staging, worker=~worker-[a-z]+");
    expect(r.stdout).toContain('result (dry run): escalated: restart-worker: service "worker-a" is not in actions.services on this host');
    const miss = await runCcm(["playbooks", "test", "docs/playbooks-examples/restart-worker.yaml", "--alert", JSON.stringify({ labels: { alertname: "X" } })], {});
    expect(miss.code).toBe(1);
    expect(miss.stdout).toContain("does not match this alert");
  });
});
