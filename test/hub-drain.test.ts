import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { createTestDatabase, waitFor, type TestDatabase } from "./support/db.ts";
import { alertmanagerPayload } from "./support/alerts.ts";
import { freePort, spawnCcm, type CcmProcess } from "./support/processes.ts";

let db: TestDatabase;
let hub: CcmProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  hub?.kill("SIGKILL");
  await db?.drop();
});

describe("hub shutdown", () => {
  it("SIGTERM lets an in-flight webhook finish and commit before the hub exits", async () => {
    const port = await freePort();
    hub = spawnCcm(["hub"], { DATABASE_URL: db.url, CCM_HUB_PORT: String(port), CCM_HUB_HOST: "127.0.0.1" });
    await waitFor("hub ready", async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok, 30_000);

    // Hold a lock the ingest needs, so the webhook is in flight when SIGTERM arrives.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query("begin");
    await blocker.query("lock table ccm.alerts in exclusive mode");
    const pending = fetch(`http://127.0.0.1:${port}/v1/webhooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alertmanagerPayload([{ labels: { alertname: "Drain", host: "nowhere" }, fingerprint: "drain-1" }])),
    });
    await waitFor("ingest waiting on the lock", async () => {
      const { rows } = await db.pool.query("select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%ingest_alerts%'");
      return rows.length > 0;
    }, 10_000, 50);

    hub.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    expect(hub.child.exitCode).toBeNull(); // still draining
    await blocker.query("commit");
    await blocker.end();

    const res = await pending;
    expect(res.status).toBe(200);
    expect(await hub.exited).toBe(0);
    const { rows } = await db.pool.query("select count(*)::int as n from ccm.alerts where fingerprint = 'drain-1'");
    expect(rows[0].n).toBe(1);
    expect(hub.output()).toContain("hub stopped");
  });
});
