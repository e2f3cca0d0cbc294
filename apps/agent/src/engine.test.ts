import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { unknownPlaybook, type Playbook } from "@ccm/playbooks";
import { decideApproval, setFleetPause } from "@ccm/store";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { engineHarness, markerPlaybook, runRow, stepsOf, type EngineHarness } from "./engine-test-support.ts";
import { executeRun, type ExecutorDeps } from "./run-executor.ts";

let db: TestDatabase;
let h: EngineHarness;
let dir: string;
const never = new AbortController().signal;

beforeAll(async () => {
  db = await createTestDatabase();
  h = await engineHarness(db.pool, {});
});
afterAll(async () => db?.drop());
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-engine-"));
  return () => rm(dir, { recursive: true, force: true });
});

let seq = 0;
/** A fresh playbook name per test: track record, budget and concurrency are per playbook. */
function setup(opts: Parameters<typeof markerPlaybook>[1] = {}, over: Partial<ExecutorDeps> = {}) {
  const name = `marker-${++seq}`;
  const marker = path.join(dir, `${name}.done`);
  const playbook = markerPlaybook(name, opts) as Playbook<unknown>;
  const deps = h.deps({ playbooks: [playbook, unknownPlaybook as Playbook<unknown>], playbookConfig: { [name]: { marker }, unknown: { log_files: [], journal: false, top_processes: 3 } }, ...over });
  return { name, marker, deps, run: () => h.alertRun({ alertname: name }) };
}

async function seedHistory(playbook: string, successes: number, failures: number, group = "default") {
  await db.pool.query("insert into ccm.playbook_stats (playbook, alert_class, host_group, successes, failures) values ($1, $1, $2, $3, $4)", [
    playbook,
    group,
    successes,
    failures,
  ]);
}

describe("confidence and approval", () => {
  it("a new playbook stops at awaiting_approval with its proposal, score, band and factors stored", async () => {
    const t = setup();
    const run = await t.run();
    expect(await executeRun(t.deps, run, never)).toBe("finished");
    const r = await runRow(db.pool, run.run_id);
    expect(r).toMatchObject({ status: "awaiting_approval", task_status: "awaiting_approval", proposal: [{ action: "write_marker", target: t.marker }] });
    expect(r.confidence).toMatchObject({ band: "approve", score: 0.812 });
    expect(r.confidence.factors.map((f: { name: string }) => f.name)).toEqual(["match", "diagnosis", "track_record", "risk", "blast_radius"]);
    expect(r.summary).toContain("awaiting approval to write_marker");
    expect(existsSync(t.marker)).toBe(false);
    const appr = await db.pool.query("select decision, proposal from ccm.approvals where run_id = $1", [run.run_id]);
    expect(appr.rows[0]).toEqual({ decision: null, proposal: [{ action: "write_marker", target: t.marker }] });
  });

  it("approve: the first decision wins, the agent resumes at remediation, and the verified outcome feeds the track record", async () => {
    const t = setup();
    const first = await t.run();
    await executeRun(t.deps, first, never);

    const yes = await decideApproval(db.pool, first.run_id, "approved", "alice", "looks right");
    expect(yes).toMatchObject({ outcome: "decided", decision: "approved", decided_by: "alice" });
    const late = await decideApproval(db.pool, first.run_id, "rejected", "bob");
    expect(late).toMatchObject({ outcome: "already_decided", decision: "approved", decided_by: "alice", continuation_run_id: yes.continuation_run_id });

    const cont = await h.claimNext();
    expect(cont.run_id).toBe(yes.continuation_run_id);
    await executeRun(t.deps, cont, never);
    const r = await runRow(db.pool, cont.run_id);
    expect(r).toMatchObject({ status: "succeeded", task_status: "succeeded", outcome: "success" });
    expect(r.summary).toMatch(/^approved by alice: marker written$/);
    expect(existsSync(t.marker)).toBe(true);
    const stats = await db.pool.query("select successes, failures from ccm.playbook_stats where playbook = $1", [t.name]);
    expect(stats.rows).toEqual([{ successes: 1, failures: 0 }]);
  });

  it("reject: run and task are cancelled, saying who and why; nothing is done", async () => {
    const t = setup();
    const run = await t.run();
    await executeRun(t.deps, run, never);
    expect(await decideApproval(db.pool, run.run_id, "rejected", "bob", "not during the sale")).toMatchObject({ outcome: "decided", continuation_run_id: null });
    expect(await runRow(db.pool, run.run_id)).toMatchObject({ status: "cancelled", task_status: "cancelled", summary: "rejected by bob: not during the sale" });
    expect(await decideApproval(db.pool, run.run_id, "approved", "carol")).toMatchObject({ outcome: "already_decided", decision: "rejected", decided_by: "bob" });
    expect(await decideApproval(db.pool, "00000000-0000-0000-0000-000000000000", "approved", "carol")).toMatchObject({ outcome: "not_found" });
    expect(existsSync(t.marker)).toBe(false);
  });

  it("confidence comes from the seeded history: a good record auto-fixes, a bad one escalates", async () => {
    const good = setup();
    await seedHistory(good.name, 20, 0);
    const run = await good.run();
    await executeRun(good.deps, run, never);
    const r = await runRow(db.pool, run.run_id);
    expect(r).toMatchObject({ status: "succeeded", outcome: "success" });
    expect(r.confidence.band).toBe("auto");
    expect(r.confidence.factors.find((f: { name: string }) => f.name === "track_record")).toMatchObject({ value: 21 / 22, reason: expect.stringContaining("20 verified successes, 0 failures") });
    expect(existsSync(good.marker)).toBe(true);

    // Same playbook, another host group with a bad record.
    const bad = setup({}, { hostGroup: "flaky" });
    await seedHistory(bad.name, 0, 10, "flaky");
    const run2 = await bad.run();
    await executeRun(bad.deps, run2, never);
    expect(await runRow(db.pool, run2.run_id)).toMatchObject({ status: "escalated", confidence: expect.objectContaining({ band: "escalate" }) });
    expect(existsSync(bad.marker)).toBe(false);
  });

  it("an alert no playbook matches gets the unknown playbook: evidence collected, escalated", async () => {
    const t = setup();
    const run = await h.alertRun({ alertname: "SomethingOdd", severity: "page" });
    await executeRun(t.deps, run, never);
    const r = await runRow(db.pool, run.run_id);
    expect(r.status).toBe("escalated");
    expect(r.summary).toMatch(/^no playbook handles alert SomethingOdd; evidence collected/);
    expect(r.result.findings.evidence).toMatchObject({ alert: { alertname: "SomethingOdd" }, facts: { memory: expect.any(Object) } });
    expect((await stepsOf(db.pool, run.run_id)).map((s) => s.action)).toEqual(["host_facts", "top_processes", "top_processes"]);
  });
});

describe("safety rails stop remediation", () => {
  it("dry run per task (operator flag or label) changes nothing", async () => {
    const t = setup();
    await seedHistory(t.name, 20, 0);
    const run = await h.alertRun({ alertname: t.name, ccm_dry_run: "true" });
    await executeRun(t.deps, run, never);
    expect(await runRow(db.pool, run.run_id)).toMatchObject({ dry_run: true, outcome: null, remediation_started_at: null });
    expect((await stepsOf(db.pool, run.run_id)).find((s) => s.action === "write_marker")?.status).toBe("dry_run");
    expect(existsSync(t.marker)).toBe(false);

    const run2 = await t.run();
    await db.pool.query("update ccm.tasks set dry_run = true where id = $1", [run2.task_id]);
    await executeRun(t.deps, run2, never);
    expect(await runRow(db.pool, run2.run_id)).toMatchObject({ dry_run: true });
    expect(existsSync(t.marker)).toBe(false);
  });

  it("the fleet pause switch", async () => {
    const t = setup();
    await seedHistory(t.name, 20, 0);
    await setFleetPause(db.pool, true, "oncall", "incident 42");
    try {
      const run = await t.run();
      await executeRun(t.deps, run, never);
      const r = await runRow(db.pool, run.run_id);
      expect(r.status).toBe("escalated");
      expect(r.summary).toContain("not remediated: fleet paused by oncall: incident 42");
      expect(r.result.blocked_by).toBe("paused");
      expect(existsSync(t.marker)).toBe(false);
    } finally {
      await setFleetPause(db.pool, false, "oncall");
    }
  });

  it("the fleet pause, flipped between two remediation steps, stops the second", async () => {
    const t = setup({ steps: 2, afterStep: async (i) => void (i === 0 && (await setFleetPause(db.pool, true, "oncall", "stop now"))) });
    await seedHistory(t.name, 20, 0);
    try {
      const run = await t.run();
      await executeRun(t.deps, run, never);
      const r = await runRow(db.pool, run.run_id);
      expect(r.status).toBe("escalated");
      expect(r.summary).toContain("remediation stopped part-way: fleet paused by oncall: stop now");
      const writes = (await stepsOf(db.pool, run.run_id)).filter((s) => s.action === "write_marker");
      expect(writes.map((s) => s.status)).toEqual(["ok", "skipped"]);
      expect(writes[1]?.args.blocked_by).toBe("paused");
      const { readFile } = await import("node:fs/promises");
      expect(await readFile(t.marker, "utf8")).toBe("0\n");
    } finally {
      await setFleetPause(db.pool, false, "oncall");
    }
  });

  it("the local stop file", async () => {
    const stop = path.join(dir, "STOP");
    await writeFile(stop, "disk swap in progress\n");
    const t = setup({}, { stopFile: stop });
    await seedHistory(t.name, 20, 0);
    const run = await t.run();
    await executeRun(t.deps, run, never);
    const r = await runRow(db.pool, run.run_id);
    expect(r.status).toBe("escalated");
    expect(r.summary).toContain(`stop file ${stop} present (disk swap in progress)`);
    expect(existsSync(t.marker)).toBe(false);
  });

  it("a maintenance window in skip mode cancels the run; in wait mode the run waits for its end", async () => {
    const t = setup();
    await seedHistory(t.name, 20, 0);
    const win = await db.pool.query("select ccm.add_maintenance_window('kernel', $1, '{}', now() - interval '1 minute', now() + interval '1 hour', 'skip', 'ops', 'patching') as id", [[h.host]]);
    const run = await t.run();
    await executeRun(t.deps, run, never);
    expect(await runRow(db.pool, run.run_id)).toMatchObject({ status: "cancelled", task_status: "cancelled" });
    expect((await runRow(db.pool, run.run_id)).summary).toContain("maintenance window kernel (skip)");
    expect(existsSync(t.marker)).toBe(false);
    await db.pool.query("select ccm.end_maintenance_window($1)", [win.rows[0].id]);

    // Wait mode, selected by label: the run waits; ending the window lets it proceed.
    const w = await db.pool.query("select ccm.add_maintenance_window('db', '{}', '{\"role\":\"web\"}', now() - interval '1 minute', now() + interval '1 hour', 'wait', 'ops', null) as id");
    const run2 = await t.run();
    const done = executeRun(t.deps, run2, never);
    let waited = false;
    for (let i = 0; i < 100 && !waited; i++) {
      await new Promise((r) => setTimeout(r, 50));
      waited = (await stepsOf(db.pool, run2.run_id)).some((s) => s.action === "wait_maintenance_window" && s.status === "started");
    }
    expect(waited).toBe(true);
    expect(existsSync(t.marker)).toBe(false);
    await db.pool.query("select ccm.end_maintenance_window($1)", [w.rows[0].id]);
    await done;
    expect(await runRow(db.pool, run2.run_id)).toMatchObject({ status: "succeeded" });
    expect(existsSync(t.marker)).toBe(true);
  });

  it("the remediation budget: the same playbook on the same host more than N times in T escalates with the history", async () => {
    const t = setup();
    await seedHistory(t.name, 20, 0);
    await db.pool.query("select ccm.set_remediation_budget($1, 2, interval '1 hour', 5, 'test')", [t.name]);
    for (let i = 0; i < 2; i++) {
      const run = await t.run();
      await executeRun(t.deps, run, never);
      expect((await runRow(db.pool, run.run_id)).status).toBe("succeeded");
    }
    await rm(t.marker);
    const run = await t.run();
    await executeRun(t.deps, run, never);
    const r = await runRow(db.pool, run.run_id);
    expect(r.status).toBe("escalated");
    expect(r.summary).toContain("remediation budget spent: 2 runs of this playbook on this host within 01:00:00 (max 2)");
    expect(r.result.rail.history).toHaveLength(2);
    expect(existsSync(t.marker)).toBe(false);
  });

  it("fleet-wide concurrency: at most M remediations of a playbook at once", async () => {
    const t = setup();
    await seedHistory(t.name, 20, 0);
    await db.pool.query("select ccm.set_remediation_budget($1, 10, interval '1 hour', 1, 'test')", [t.name]);
    // Another host is in the middle of the same remediation.
    const other = await engineHarness(db.pool, {});
    const busy = await other.alertRun({ alertname: t.name });
    await db.pool.query("update ccm.runs set status = 'running', playbook = $2, remediation_started_at = now() where id = $1", [busy.run_id, t.name]);
    const run = await t.run();
    await executeRun(t.deps, run, never);
    const r = await runRow(db.pool, run.run_id);
    expect(r.status).toBe("escalated");
    expect(r.summary).toContain("fleet-wide concurrency limit: 1 remediations of this playbook already running (max 1)");
    expect(existsSync(t.marker)).toBe(false);
  });
});
