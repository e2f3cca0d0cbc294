import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/db.ts";
import { spawnCcm, type CcmProcess } from "../support/processes.ts";
import { Receiver } from "./support/receiver.ts";
import { outbox, outboxDrained } from "./support/outbox-rows.ts";
import { enroll, finish, fire, resolve, startRun } from "./support/seed.ts";

// Real hub processes (the outbox workers inside `ccm hub`), real signals.
let db: TestDatabase;
let pd: Receiver;
const spawned: CcmProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  pd = await new Receiver().start();
});
afterAll(async () => {
  for (const p of spawned) p.kill("SIGKILL");
  await pd?.stop();
  await db?.drop();
});

async function startHub(): Promise<CcmProcess> {
  const hub = spawnCcm(["hub"], {
    DATABASE_URL: db.url,
    CCM_HUB_PORT: "0",
    CCM_HUB_HOST: "127.0.0.1",
    CCM_HUB_MIGRATE: "false",
    CCM_LOG_LEVEL: "info",
    CCM_PAGERDUTY_URL: pd.url,
    CCM_PAGERDUTY_ROUTING_KEY: "R0UTINGKEY000000000000000000000",
    CCM_NOTIFY_POLL_MS: "50",
    CCM_NOTIFY_RETRY_BASE_MS: "100",
    CCM_NOTIFY_RETRY_MAX_MS: "400",
    CCM_NOTIFY_MAX_ATTEMPTS: "100",
    CCM_NOTIFY_LEASE_S: "5",
    CCM_DIGEST_ENABLED: "false",
    CCM_SLACK_COALESCE_WINDOW_MS: "0",
  });
  spawned.push(hub);
  await waitFor("hub listening", async () => hub.output().includes("hub listening"), 30_000);
  return hub;
}

describe("exactly one page per incident across retries and hub restarts", () => {
  it("two hubs, PagerDuty failing, one hub SIGKILLed and replaced, then recovering: 10 pages, 10 resolves, no duplicates", async () => {
    let accepting = false;
    pd.script = () => (accepting ? undefined : { status: 500, body: { status: "error" } });
    const [a, b] = (await Promise.all([startHub(), startHub()])) as [CcmProcess, CcmProcess];
    const incidents: Array<{ host: string; fp: string; taskId: string }> = [];
    for (let i = 0; i < 10; i++) {
      const host = `node-${i}`;
      await enroll(db.pool, host);
      const { taskId, fingerprint } = await fire(db.pool, host, `Alert${i}`);
      const r = await startRun(db.pool, taskId);
      await finish(db.pool, r.runId, r.agentId, "escalated");
      incidents.push({ host, fp: fingerprint, taskId });
    }
    // Wait on what PagerDuty actually answered (the outbox's attempt counter moves at claim time,
    // before the request lands), so every incident has been refused at least once before the kill.
    await waitFor("every page attempted and refused at least once", async () => {
      const rows = await outbox(db.pool, "channel = 'pagerduty'");
      const refused = new Set(pd.requests.filter((r) => r.status === 500).map((r) => (r.body as { dedup_key?: string }).dedup_key));
      return rows.length === 10 && rows.every((r) => r.attempts >= 1) && refused.size === 10;
    });
    // Both hubs were retrying; one dies mid-flight, the other is stopped cleanly; two new ones take over.
    a.kill("SIGKILL");
    b.kill("SIGTERM");
    expect(await b.exited).toBe(0);
    await Promise.all([startHub(), startHub()]);
    accepting = true;
    await waitFor("outbox drained", () => outboxDrained(db.pool), 30_000);
    const triggers = pd.accepted("/v2/enqueue").filter((r) => r.body.event_action === "trigger");
    expect(triggers).toHaveLength(10);
    expect(new Set(triggers.map((t) => t.body.dedup_key))).toEqual(new Set(incidents.map((i) => `task:${i.taskId}`)));
    expect(pd.requests.filter((r) => r.status === 500).length).toBeGreaterThanOrEqual(10);

    // The alerts resolve: one resolve each, same keys, and no second page.
    for (const i of incidents) await resolve(db.pool, i.host, `Alert${incidents.indexOf(i)}`, i.fp);
    await waitFor("resolves delivered", async () => (await outboxDrained(db.pool)) && pd.accepted("/v2/enqueue").length === 20, 30_000);
    const resolves = pd.accepted("/v2/enqueue").filter((r) => r.body.event_action === "resolve");
    expect(new Set(resolves.map((t) => t.body.dedup_key))).toEqual(new Set(incidents.map((i) => `task:${i.taskId}`)));
    expect(resolves).toHaveLength(10);
    expect(pd.accepted("/v2/enqueue").filter((r) => r.body.event_action === "trigger")).toHaveLength(10);
  });
});
