import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { NormalizedAlert } from "@ccm/schemas";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { PgAgentStore } from "./agent-store.ts";
import { ingestAlerts } from "./hub-store.ts";

let db: TestDatabase;
let store: PgAgentStore;
let webId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  store = new PgAgentStore(db.pool);
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await db.pool.query("truncate ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.agents cascade");
  webId = await store.enroll({
    host: "web-1",
    aliases: ["web-1.prod.example.com", "10.0.0.11"],
    labels: { role: "web" },
    version: "t",
    playbooks: ["disk-full"],
    facts: {},
  });
});

let seq = 0;
function alert(labels: Record<string, string>, extra: Partial<NormalizedAlert> = {}): NormalizedAlert {
  return {
    fingerprint: `fp-${++seq}`,
    status: "firing",
    labels: { alertname: "NodeFilesystemAlmostOutOfSpace", ...labels },
    annotations: {},
    startsAt: "2026-11-23T02:00:00Z",
    endsAt: null,
    generatorURL: null,
    raw: {},
    ...extra,
  };
}

async function counts() {
  const { rows } = await db.pool.query(
    "select (select count(*) from ccm.tasks)::int as tasks, (select count(*) from ccm.runs)::int as runs, (select count(*) from ccm.alerts)::int as alerts",
  );
  return rows[0] as { tasks: number; runs: number; alerts: number };
}

describe("ingest_alerts: routing", () => {
  it.each([
    [{ host: "web-1" }, "web-1"],
    [{ hostname: "WEB-1" }, "WEB-1"],
    [{ nodename: "web-1" }, "web-1"],
    [{ instance: "web-1:9100" }, "web-1"],
    [{ instance: "10.0.0.11:9100" }, "10.0.0.11"],
    [{ instance: "web-1.prod.example.com:9100" }, "web-1.prod.example.com"],
    [{ host: "web-1", instance: "db-3:9100" }, "web-1"],
  ])("labels %j route to agent web-1 (host %s)", async (labels, host) => {
    const [r] = await ingestAlerts(db.pool, "alertmanager", null, [alert(labels)]);
    expect(r).toMatchObject({ outcome: "created", host });
    const { rows } = await db.pool.query("select agent_id from ccm.runs where task_id = $1", [r?.task_id]);
    expect(rows).toEqual([{ agent_id: webId }]);
  });

  it("a short name finds an FQDN agent, but an FQDN of another domain never matches a short-named agent", async () => {
    const fqdn = await store.enroll({ host: "db-2.prod.example.com", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
    const [short] = await ingestAlerts(db.pool, "alertmanager", null, [alert({ instance: "db-2:9100" })]);
    expect(short?.outcome).toBe("created");
    const run = await db.pool.query("select agent_id from ccm.runs where task_id = $1", [short?.task_id]);
    expect(run.rows[0].agent_id).toBe(fqdn);
    const [other] = await ingestAlerts(db.pool, "alertmanager", null, [alert({ instance: "web-1.staging.example.com:9100" })]);
    expect(other?.outcome).toBe("unrouted");
  });

  it("an alert for no known host is kept as an unrouted task, and routed when that host enrols", async () => {
    const [r] = await ingestAlerts(db.pool, "alertmanager", null, [alert({ instance: "db-7:9100" })]);
    expect(r).toMatchObject({ outcome: "unrouted", host: "db-7" });
    const { rows } = await db.pool.query("select status, summary from ccm.tasks where id = $1", [r?.task_id]);
    expect(rows[0]).toMatchObject({ status: "unrouted", summary: "no enrolled agent matches host db-7" });
    expect((await counts()).runs).toBe(0);

    const dbId = await store.enroll({ host: "db-7", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
    const after = await db.pool.query("select t.status, r.agent_id from ccm.tasks t join ccm.runs r on r.task_id = t.id");
    expect(after.rows).toEqual([{ status: "queued", agent_id: dbId }]);
  });

  it("an alert with no host label at all is kept and says why", async () => {
    const [r] = await ingestAlerts(db.pool, "alertmanager", null, [alert({ job: "node" })]);
    expect(r?.outcome).toBe("unrouted");
    const { rows } = await db.pool.query("select summary from ccm.tasks where id = $1", [r?.task_id]);
    expect(rows[0].summary).toMatch(/names no host/);
  });
});

describe("ingest_alerts: one firing condition on one host is one active task", () => {
  it("the same delivery three times makes one task and one run", async () => {
    const a = alert({ instance: "web-1:9100" });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(...(await ingestAlerts(db.pool, "alertmanager", "g", [a])));
    expect(results.map((r) => r.outcome)).toEqual(["created", "duplicate", "duplicate"]);
    expect(new Set(results.map((r) => r.task_id)).size).toBe(1);
    expect(await counts()).toEqual({ tasks: 1, runs: 1, alerts: 1 });
    const { rows } = await db.pool.query("select alert_count, receive_count from ccm.tasks, ccm.alerts");
    expect(rows[0]).toEqual({ alert_count: 3, receive_count: 3 });
  });

  it("concurrent duplicate deliveries (an HA pair) still make one task", async () => {
    const a = alert({ instance: "web-1:9100" });
    await Promise.all(Array.from({ length: 8 }, () => ingestAlerts(db.pool, "alertmanager", "g", [a])));
    expect(await counts()).toMatchObject({ tasks: 1, runs: 1, alerts: 1 });
  });

  it("a new firing episode (new startsAt) while the task is still active is absorbed, not a second task", async () => {
    const a = alert({ instance: "web-1:9100" });
    await ingestAlerts(db.pool, "alertmanager", "g", [a]);
    const [r] = await ingestAlerts(db.pool, "alertmanager", "g", [{ ...a, startsAt: "2026-11-23T03:00:00Z" }]);
    expect(r?.outcome).toBe("absorbed");
    expect(await counts()).toMatchObject({ tasks: 1, runs: 1, alerts: 2 });
  });

  it("firing then resolved before any claim: the task and its run are cancelled", async () => {
    const a = alert({ instance: "web-1:9100" });
    await ingestAlerts(db.pool, "alertmanager", "g", [a]);
    const [r] = await ingestAlerts(db.pool, "alertmanager", "g", [
      { ...a, status: "resolved", endsAt: "2026-11-23T02:10:00Z" },
    ]);
    expect(r?.outcome).toBe("cancelled");
    const { rows } = await db.pool.query(
      "select t.status as task, r.status as run, t.resolved_at from ccm.tasks t join ccm.runs r on r.task_id = t.id",
    );
    expect(rows[0]).toMatchObject({ task: "cancelled", run: "cancelled" });
    expect(rows[0].resolved_at.toISOString()).toBe("2026-11-23T02:10:00.000Z");
    // A cancelled run is never handed to the agent.
    expect(await store.claimRuns(webId, 10, 30)).toEqual([]);
  });

  it("resolved after the agent started: recorded on the task, the run goes on", async () => {
    const a = alert({ instance: "web-1:9100" });
    await ingestAlerts(db.pool, "alertmanager", "g", [a]);
    const [run] = await store.claimRuns(webId, 1, 30);
    expect(await store.startRun(run!.run_id, webId, "disk-full", true, false)).toBe(true);
    const [r] = await ingestAlerts(db.pool, "alertmanager", "g", [{ ...a, status: "resolved", endsAt: "2026-11-23T02:10:00Z" }]);
    expect(r?.outcome).toBe("resolved");
    const { rows } = await db.pool.query("select t.status, t.resolved_at is not null as resolved from ccm.tasks t");
    expect(rows[0]).toEqual({ status: "running", resolved: true });
  });

  it("resolved after a claim but before the start: cancelled, and the agent cannot start it", async () => {
    const a = alert({ instance: "web-1:9100" });
    await ingestAlerts(db.pool, "alertmanager", "g", [a]);
    const [run] = await store.claimRuns(webId, 1, 30);
    const [r] = await ingestAlerts(db.pool, "alertmanager", "g", [{ ...a, status: "resolved" }]);
    expect(r?.outcome).toBe("cancelled");
    expect(await store.startRun(run!.run_id, webId, "disk-full", true, false)).toBe(false);
  });

  it("a resolve that overtakes its firing notification leaves nothing to do", async () => {
    const a = alert({ instance: "web-1:9100" });
    await ingestAlerts(db.pool, "alertmanager", "g", [{ ...a, status: "resolved" }]);
    const [r] = await ingestAlerts(db.pool, "alertmanager", "g", [a]);
    expect(r?.outcome).toBe("already_resolved");
    expect((await counts()).tasks).toBe(0);
  });

  it("after the task finished, a later episode of the same condition is a new task", async () => {
    const a = alert({ instance: "web-1:9100" });
    await ingestAlerts(db.pool, "alertmanager", "g", [a]);
    const [run] = await store.claimRuns(webId, 1, 30);
    await store.startRun(run!.run_id, webId, "disk-full", true, false);
    await store.finishRun(run!.run_id, webId, "succeeded", "ok", {});
    // Alertmanager's repeat_interval resend of the same episode: no new task.
    expect((await ingestAlerts(db.pool, "alertmanager", "g", [a]))[0]?.outcome).toBe("duplicate");
    const [r] = await ingestAlerts(db.pool, "alertmanager", "g", [{ ...a, startsAt: "2026-11-24T02:00:00Z" }]);
    expect(r?.outcome).toBe("created");
    expect((await counts()).tasks).toBe(2);
  });
});
