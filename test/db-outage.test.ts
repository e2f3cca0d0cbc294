import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createHubApp } from "@ccm/hub";
import { createPool, PgAgentStore, type Pool } from "@ccm/store";
import { createTestDatabase, type TestDatabase } from "./support/db.ts";
import { alertmanagerPayload } from "./support/alerts.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";

let db: TestDatabase;
let proxy: TcpProxy;
let viaProxy: Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const u = new URL(db.url);
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  viaProxy = createPool(u.toString(), { connectionTimeoutMillis: 1_000 });
  await new PgAgentStore(db.pool).enroll({ host: "web-1", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
});
afterAll(async () => {
  await viaProxy?.end().catch(() => undefined);
  await proxy?.close();
  await db?.drop();
});

describe("database outage between hub and Postgres", () => {
  it("answers 503 while the database is cut off; the sender's retry lands once it is back; nothing lost or doubled", async () => {
    const app = createHubApp({ db: viaProxy, log: silentLogger(), config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 1 << 20 } });
    const send = (fp: string) =>
      app.request("/v1/webhooks/alertmanager", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alertmanagerPayload([{ labels: { alertname: "DiskFull", host: "web-1", n: fp }, fingerprint: fp }])),
      });

    expect((await send("before")).status).toBe(200);
    await proxy.cut();
    const during = await send("during");
    expect(during.status).toBe(503);
    expect((await db.pool.query("select count(*)::int n from ccm.alerts where fingerprint = 'during'")).rows[0].n).toBe(0);

    await proxy.restore();
    // Alertmanager retries a 5xx; pooled connections that died with the cut are replaced.
    let retried = await send("during");
    for (let i = 0; i < 5 && retried.status !== 200; i++) retried = await send("during");
    expect(retried.status).toBe(200);
    expect((await send("after")).status).toBe(200);

    // Each alert stored once; storm grouping (alertname + host) puts all three on one task.
    const { rows } = await db.pool.query("select fingerprint from ccm.alerts order by id");
    expect(rows.map((r) => r.fingerprint)).toEqual(["before", "during", "after"]);
    const tasks = await db.pool.query("select alert_count from ccm.tasks");
    expect(tasks.rows).toEqual([{ alert_count: 3 }]);
  });
});
