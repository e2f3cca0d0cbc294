import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../../test/support/db.ts";
import { PgAgentStore } from "./agent-store.ts";
import { ingestAlerts, recoverExpiredLeases } from "./hub-store.ts";
import { subscribeWakeups } from "./wakeups.ts";
import { agentChannel } from "./channel.ts";

let db: TestDatabase;
let store: PgAgentStore;
let agentId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  store = new PgAgentStore(db.pool);
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await db.pool.query("truncate ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.agents cascade");
  agentId = await store.enroll({ host: "web-1", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
});

let n = 0;
async function queuedRun(): Promise<string> {
  await ingestAlerts(db.pool, "alertmanager", null, [
    {
      fingerprint: `f${++n}`,
      status: "firing",
      labels: { alertname: "X", host: "web-1" },
      annotations: {},
      startsAt: "2026-11-23T02:00:00Z",
      endsAt: null,
      generatorURL: null,
      raw: {},
    },
  ]);
  const [run] = await store.claimRuns(agentId, 1, 1);
  return run!.run_id;
}

async function expireLeases() {
  await db.pool.query("update ccm.runs set lease_expires_at = now() - interval '1 second' where status in ('claimed','running')");
}

describe("lease recovery", () => {
  it("a started idempotent run is expired and re-queued as the next attempt", async () => {
    const runId = await queuedRun();
    await store.startRun(runId, agentId, "disk-full", true, false);
    const stepId = await store.recordStep(runId, agentId, "remediate", "remove_files", { files: ["/x"] });
    await expireLeases();
    expect(await recoverExpiredLeases(db.pool)).toEqual([{ run_id: runId, outcome: "requeued" }]);
    const { rows } = await db.pool.query("select status, attempt from ccm.runs order by attempt");
    expect(rows).toEqual([
      { status: "expired", attempt: 1 },
      { status: "queued", attempt: 2 },
    ]);
    const step = await db.pool.query("select status from ccm.run_steps where id = $1", [stepId]);
    expect(step.rows[0].status).toBe("interrupted");
    expect((await db.pool.query("select status from ccm.tasks")).rows[0].status).toBe("queued");
    // The agent that lost it can no longer write to the old run.
    expect(await store.finishRun(runId, agentId, "succeeded", "late", {})).toBe(false);
    expect(await store.renewLease(runId, agentId, 30)).toBe("expired");
  });

  it("a started non-idempotent run is marked unknown for a human, never re-run", async () => {
    const runId = await queuedRun();
    await store.startRun(runId, agentId, "package-update", false, false);
    await expireLeases();
    expect(await recoverExpiredLeases(db.pool)).toEqual([{ run_id: runId, outcome: "unknown" }]);
    const { rows } = await db.pool.query("select status, summary from ccm.runs");
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe("unknown");
    expect(rows[0].summary).toMatch(/not idempotent/);
    expect((await db.pool.query("select status from ccm.tasks")).rows[0].status).toBe("unknown");
  });

  it("a claimed but never started run simply goes back to the queue", async () => {
    const runId = await queuedRun();
    await expireLeases();
    expect(await recoverExpiredLeases(db.pool)).toEqual([{ run_id: runId, outcome: "requeued" }]);
    const { rows } = await db.pool.query("select id, status, attempt from ccm.runs");
    expect(rows).toEqual([{ id: runId, status: "queued", attempt: 1 }]);
  });

  it("gives up after the maximum number of attempts", async () => {
    const runId = await queuedRun();
    await store.startRun(runId, agentId, "disk-full", true, false);
    await expireLeases();
    await recoverExpiredLeases(db.pool, 1);
    expect((await db.pool.query("select status from ccm.runs")).rows).toEqual([{ status: "unknown" }]);
  });

  it("a live lease is left alone", async () => {
    const runId = await queuedRun();
    await store.startRun(runId, agentId, "disk-full", true, false);
    expect(await store.renewLease(runId, agentId, 30)).toBe("running");
    expect(await recoverExpiredLeases(db.pool)).toEqual([]);
  });
});

describe("wake-ups", () => {
  it("a queued run NOTIFYs the agent's own channel, and (re)subscribing wakes too", async () => {
    const wakes: string[] = [];
    const sub = subscribeWakeups(db.url, agentChannel(agentId), { onWake: (r) => wakes.push(r) });
    try {
      await new Promise<void>((resolve, reject) => {
        const t0 = Date.now();
        const check = () => (wakes.includes("subscribed") ? resolve() : Date.now() - t0 > 5000 ? reject(new Error("no subscribe")) : setTimeout(check, 20));
        check();
      });
      await ingestAlerts(db.pool, "alertmanager", null, [
        { fingerprint: "w1", status: "firing", labels: { alertname: "X", host: "web-1" }, annotations: {}, startsAt: null, endsAt: null, generatorURL: null, raw: {} },
      ]);
      await new Promise<void>((resolve, reject) => {
        const t0 = Date.now();
        const check = () => (wakes.includes("notify") ? resolve() : Date.now() - t0 > 5000 ? reject(new Error("no notify")) : setTimeout(check, 20));
        check();
      });
    } finally {
      await sub.close();
    }
  });
});
