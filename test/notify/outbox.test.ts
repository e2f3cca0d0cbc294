import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createPool, withTransaction, type Pool } from "@ccm/store";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/db.ts";
import { startOutboxWorker } from "../../apps/hub/src/workers/outbox.ts";
import { Receiver } from "./support/receiver.ts";
import { testNotifyConfig } from "./support/config.ts";
import { outbox, outboxDrained } from "./support/outbox-rows.ts";
import { enroll, finish, fire, startRun } from "./support/seed.ts";

let db: TestDatabase;
let receiver: Receiver;
const workers: Array<{ stop(): Promise<void> }> = [];
const pools: Pool[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await new Receiver().start();
});
afterAll(async () => {
  await receiver?.stop();
  await db?.drop();
});
beforeEach(async () => {
  receiver.requests.length = 0;
  receiver.script = undefined;
  await db.pool.query("truncate ccm.notifications, ccm.slack_threads, ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.agents cascade");
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

function startWorker(name: string, env: Record<string, string> = {}) {
  const pool = createPool(db.url, { max: 3 });
  pools.push(pool);
  const w = startOutboxWorker(pool, silentLogger(), testNotifyConfig(receiver.url, receiver.url, env), name);
  workers.push(w);
  return w;
}

async function escalatedIncidents(n: number): Promise<string[]> {
  const tasks: string[] = [];
  for (let i = 0; i < n; i++) {
    await enroll(db.pool, `host-${i}`);
    // Distinct alert names: nothing coalesces, every incident is its own message.
    const { taskId } = await fire(db.pool, `host-${i}`, `Alert${i}`);
    const { runId, agentId } = await startRun(db.pool, taskId);
    await finish(db.pool, runId, agentId, "escalated", `needs a human ${i}`);
    tasks.push(taskId);
  }
  return tasks;
}

describe("notification outbox", () => {
  it("is written in the same transaction as the state change: a rolled-back finish leaves no row", async () => {
    await enroll(db.pool, "web-1");
    const { taskId } = await fire(db.pool, "web-1", "DiskFull");
    const { runId, agentId } = await startRun(db.pool, taskId);
    await expect(
      withTransaction(db.pool, async (c) => {
        await c.query("select ccm.finish_run($1, $2, 'escalated', 'x')", [runId, agentId]);
        const inside = await c.query("select kind from ccm.notifications order by id");
        expect(inside.rows.map((r) => r.kind)).toEqual(["run_finished", "pd_trigger"]);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await outbox(db.pool)).toEqual([]);

    await finish(db.pool, runId, agentId, "escalated");
    const rows = await outbox(db.pool);
    expect(rows.map((r) => [r.channel, r.kind, r.dedup_key, r.incident_key])).toEqual([
      ["slack", "run_finished", `slack:run:${runId}:escalated`, `task:${taskId}`],
      ["pagerduty", "pd_trigger", `pd:trigger:task:${taskId}`, `task:${taskId}`],
    ]);
    // The same event enqueued again is a no-op (dedup key).
    const again = await db.pool.query("select ccm.enqueue_notification('slack', 'run_finished', $1) as id", [`slack:run:${runId}:escalated`]);
    expect(again.rows[0].id).toBeNull();
  });

  it("two workers deliver 12 incidents concurrently: every Slack message and page exactly once", async () => {
    const tasks = await escalatedIncidents(12);
    startWorker("a");
    startWorker("b");
    await waitFor("outbox drained", () => outboxDrained(db.pool));
    const posts = receiver.accepted("/chat.postMessage");
    const pages = receiver.accepted("/v2/enqueue");
    expect(posts).toHaveLength(12);
    expect(pages).toHaveLength(12);
    expect(new Set(pages.map((p) => p.body.dedup_key))).toEqual(new Set(tasks.map((t) => `task:${t}`)));
    const rows = await outbox(db.pool);
    expect(rows.every((r) => r.status === "sent" && r.attempts === 1)).toBe(true);
    // Each incident opened its own thread.
    const threads = await db.pool.query("select count(*)::int as n from ccm.slack_threads");
    expect(threads.rows[0].n).toBe(12);
  });

  it("receiver down for a while, then up: everything is delivered, once", async () => {
    await receiver.down();
    await escalatedIncidents(4);
    startWorker("a");
    startWorker("b");
    await waitFor("failed attempts recorded", async () => {
      const rows = await outbox(db.pool);
      return rows.every((r) => r.attempts >= 2 && r.last_error !== null);
    });
    const pendingWhileDown = await outbox(db.pool);
    expect(pendingWhileDown.every((r) => r.status === "pending" || r.status === "sending")).toBe(true);
    expect(pendingWhileDown[0]?.last_error).toMatch(/unreachable/);
    await receiver.up();
    await waitFor("outbox drained", () => outboxDrained(db.pool));
    expect(receiver.accepted("/chat.postMessage")).toHaveLength(4);
    expect(receiver.accepted("/v2/enqueue")).toHaveLength(4);
    expect((await outbox(db.pool)).every((r) => r.status === "sent")).toBe(true);
  });

  it("a permanent error is kept as failed with its reason; transient errors give up after the max attempts", async () => {
    receiver.script = (req) => {
      if (req.path.endsWith("/chat.postMessage")) return { status: 200, body: { ok: false, error: "channel_not_found" } };
      if (req.path === "/v2/enqueue") return { status: 500, body: { status: "error" } };
      return undefined;
    };
    await escalatedIncidents(1);
    startWorker("a", { CCM_NOTIFY_MAX_ATTEMPTS: "3" });
    await waitFor("both rows failed", async () => (await outbox(db.pool)).every((r) => r.status === "failed"));
    const [slack, pd] = await outbox(db.pool);
    expect(slack).toMatchObject({ status: "failed", attempts: 1, last_error: "Slack error channel_not_found" });
    expect(pd).toMatchObject({ status: "failed", attempts: 3 });
    expect(pd?.last_error).toMatch(/PagerDuty HTTP 500/);
    expect(receiver.requests.filter((r) => r.path === "/v2/enqueue")).toHaveLength(3);
  });

  it("without a Slack token or routing key, rows are marked skipped with the reason, not left pending", async () => {
    await escalatedIncidents(1);
    const pool = createPool(db.url, { max: 2 });
    pools.push(pool);
    const config = { ...testNotifyConfig(receiver.url, receiver.url), CCM_SLACK_BOT_TOKEN: undefined, CCM_PAGERDUTY_ROUTING_KEY: undefined };
    workers.push(startOutboxWorker(pool, silentLogger(), config, "bare"));
    await waitFor("outbox drained", () => outboxDrained(db.pool));
    const rows = await outbox(db.pool);
    expect(rows.map((r) => r.status)).toEqual(["skipped", "skipped"]);
    expect(rows[0]?.result).toEqual({ reason: "Slack not configured (CCM_SLACK_BOT_TOKEN)" });
    expect(receiver.requests).toHaveLength(0);
  });
});
