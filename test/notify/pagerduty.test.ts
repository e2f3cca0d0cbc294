import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createPool, type Pool } from "@ccm/store";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/db.ts";
import { startOutboxWorker } from "../../apps/hub/src/workers/outbox.ts";
import { Receiver, type Received } from "./support/receiver.ts";
import { testNotifyConfig } from "./support/config.ts";
import { outbox, outboxDrained } from "./support/outbox-rows.ts";
import { enroll, finish, fire, resolve, startRun } from "./support/seed.ts";

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
  await db.pool.query("truncate ccm.notifications, ccm.slack_threads, ccm.alerts, ccm.tasks, ccm.runs, ccm.agents, ccm.incidents cascade");
  await db.pool.query("select ccm.set_setting('storm.fleet_hosts', '10')");
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

function startWorker(env: Record<string, string> = {}) {
  const pool = createPool(db.url, { max: 3 });
  pools.push(pool);
  const config = testNotifyConfig(receiver.url, receiver.url, { CCM_PUBLIC_URL: "https://ccm.example.test", ...env });
  workers.push(startOutboxWorker(pool, silentLogger(), { ...config, CCM_SLACK_BOT_TOKEN: undefined }, "w"));
}

const events = (): Array<Record<string, unknown>> => receiver.accepted("/v2/enqueue").map((r: Received) => r.body);

describe("PagerDuty Events v2", () => {
  it("an escalation triggers with the incident key, routing by label, and evidence; the alert resolving resolves it", async () => {
    startWorker({ CCM_PAGERDUTY_ROUTES: JSON.stringify([{ match: { service: "db" }, routing_key: "DBKEY00000000000000000000000000" }]) });
    await enroll(db.pool, "db-1");
    const { taskId, fingerprint } = await fire(db.pool, "db-1", "PostgresDown", { severity: "critical", service: "db" });
    const { runId, agentId } = await startRun(db.pool, taskId);
    await finish(db.pool, runId, agentId, "escalated", "postgres will not start: needs a human");
    await waitFor("page sent", async () => events().length === 1);
    const trigger = events()[0] as {
      payload: { summary: string; custom_details: { evidence: unknown } };
    } & Record<string, unknown>;
    expect(trigger).toMatchObject({
      routing_key: "DBKEY00000000000000000000000000",
      event_action: "trigger",
      dedup_key: `task:${taskId}`,
      client: "CCM",
      links: [{ href: `https://ccm.example.test/v1/tasks/${taskId}`, text: "CCM task" }],
    });
    expect(trigger.payload).toMatchObject({ severity: "critical", source: "db-1", class: "PostgresDown", component: "disk-full" });
    expect(trigger.payload.summary).toContain("PostgresDown on db-1: escalated — postgres will not start");
    expect(JSON.stringify(trigger.payload.custom_details.evidence)).toContain("root filesystem 97% full");

    await resolve(db.pool, "db-1", "PostgresDown", fingerprint);
    await waitFor("resolve sent", async () => events().length === 2);
    expect(events()[1]).toEqual({ routing_key: "DBKEY00000000000000000000000000", event_action: "resolve", dedup_key: `task:${taskId}` });
  });

  it("a fleet-wide storm is one incident: one page for 4 escalated hosts, resolved once all of them are settled", async () => {
    await db.pool.query("select ccm.set_setting('storm.fleet_hosts', '3')");
    const started: Array<{ host: string; fp: string; runId: string; agentId: string }> = [];
    for (let i = 1; i <= 4; i++) {
      await enroll(db.pool, `web-${i}`);
      const { taskId, fingerprint } = await fire(db.pool, `web-${i}`, "HighLatency");
      started.push({ host: `web-${i}`, fp: fingerprint, ...(await startRun(db.pool, taskId)) });
    }
    for (const s of started) await finish(db.pool, s.runId, s.agentId, "escalated");
    startWorker();
    await waitFor("outbox drained", () => outboxDrained(db.pool));
    expect(events()).toHaveLength(1);
    const key = String(events()[0]?.dedup_key);
    expect(key).toMatch(/^incident:/);
    // Resolving 3 of 4 keeps the page open; the 4th resolves it, once.
    for (const s of started.slice(0, 3)) await resolve(db.pool, s.host, "HighLatency", s.fp);
    await waitFor("outbox drained", () => outboxDrained(db.pool));
    expect(events()).toHaveLength(1);
    await resolve(db.pool, "web-4", "HighLatency", started[3]?.fp as string);
    await waitFor("resolve sent", async () => events().length === 2);
    expect(events()[1]).toMatchObject({ event_action: "resolve", dedup_key: key });
    expect((await outbox(db.pool, "channel = 'pagerduty'")).map((r) => r.kind)).toEqual(["pd_trigger", "pd_resolve"]);
  });

  it("a fix by CCM after the page resolves it; a dry-run success does not", async () => {
    startWorker();
    await enroll(db.pool, "app-1");
    const { taskId } = await fire(db.pool, "app-1", "DiskFull");
    const first = await startRun(db.pool, taskId);
    await finish(db.pool, first.runId, first.agentId, "failed", "cleanup failed");
    // An operator re-queues it: a dry run first (changes nothing), then a real run that fixes it.
    for (const dry of [true, false]) {
      await db.pool.query("update ccm.tasks set status = 'queued' where id = $1", [taskId]);
      await db.pool.query("insert into ccm.runs (task_id, agent_id, attempt) values ($1, $2, 2)", [taskId, first.agentId]);
      const again = await startRun(db.pool, taskId, { dryRun: dry });
      await finish(db.pool, again.runId, again.agentId, "succeeded");
      if (dry) {
        await waitFor("outbox drained", () => outboxDrained(db.pool));
        expect(events().map((e) => e.event_action)).toEqual(["trigger"]);
      }
    }
    await waitFor("resolve sent", async () => events().length === 2);
    expect(events().map((e) => [e.event_action, e.dedup_key])).toEqual([
      ["trigger", `task:${taskId}`],
      ["resolve", `task:${taskId}`],
    ]);
  });

  it("a resolve waits for its trigger: it is never sent before the page it closes", async () => {
    let failures = 0;
    receiver.script = (req) => (req.body.event_action === "trigger" && failures++ < 3 ? { status: 500, body: {} } : undefined);
    await enroll(db.pool, "app-2");
    const { taskId, fingerprint } = await fire(db.pool, "app-2", "DiskFull");
    const r = await startRun(db.pool, taskId);
    await finish(db.pool, r.runId, r.agentId, "unknown", "lease lost");
    await resolve(db.pool, "app-2", "DiskFull", fingerprint);
    startWorker();
    await waitFor("outbox drained", () => outboxDrained(db.pool));
    const all = receiver.requests.filter((q) => q.path === "/v2/enqueue").map((q) => `${String(q.body.event_action)}:${q.status}`);
    expect(all).toEqual(["trigger:500", "trigger:500", "trigger:500", "trigger:202", "resolve:202"]);
  });
});
