import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { getAlert, listAlerts, PgAgentStore } from "@ccm/store";
import { createHubApp } from "@ccm/hub";
import { alertmanagerPayload } from "../../../../test/support/alerts.ts";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { runCcm } from "../../../../test/support/processes.ts";
import { formatAlert, formatAlertList } from "./alerts.ts";

let db: TestDatabase;
let ids: number[];

beforeAll(async () => {
  db = await createTestDatabase();
  await new PgAgentStore(db.pool).enroll({ host: "web-1", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
  const app = createHubApp({ db: db.pool, log: silentLogger(), config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 1 << 20 } });
  const post = async (path: string, body: unknown) => {
    const res = await app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  };
  await post("/v1/webhooks/alertmanager", alertmanagerPayload([
    { labels: { alertname: "DiskFull", host: "web-1" }, fingerprint: "d1" },
    { labels: { alertname: "DiskFull", host: "web-1", mount: "/var" }, annotations: { big: "y".repeat(80_000) }, fingerprint: "d2" },
  ]));
  await post("/v1/webhooks/elastic", { id: "rule:1", status: "firing", rule_name: "Errors", host: "db-9" });
  const { rows } = await db.pool.query("select id from ccm.alerts order by id");
  ids = rows.map((r) => Number(r.id));
});
afterAll(async () => {
  await db?.drop();
});

describe("ccm alerts", () => {
  it("list filters by source and host, newest first, with the task each alert became", async () => {
    const all = await listAlerts(db.pool);
    expect(all.map((a) => [a.source, a.outcome])).toEqual([
      ["elastic", "unrouted"],
      ["alertmanager", "absorbed"],
      ["alertmanager", "created"],
    ]);
    expect((await listAlerts(db.pool, { source: "elastic" })).map((a) => a.host)).toEqual(["db-9"]);
    expect((await listAlerts(db.pool, { host: "WEB-1" })).length).toBe(2);
    const text = formatAlertList(all);
    expect(text).toMatch(/^ID\s+RECEIVED \(UTC\)\s+SOURCE/);
    expect(text).toMatch(/elastic\s+firing\s+db-9\s+Errors\s+unrouted/);
  });

  it("show gives the raw payload, the truncation marker, and the task's absorbed count", async () => {
    const a = await getAlert(db.pool, String(ids[1]));
    expect(a).toMatchObject({ outcome: "absorbed", raw_truncated: true, task_alert_count: 2, task_status: "queued" });
    const text = formatAlert(a);
    expect(text).toMatch(/outcome:\s+absorbed/);
    expect(text).toMatch(/absorbed 2 alert\(s\)/);
    expect(text).toMatch(/raw \(truncated: only the head was kept\)/);
  });

  it("runs as a real command: list --json, show, and a clear error for an unknown id", async () => {
    const env = { DATABASE_URL: db.url };
    const list = await runCcm(["alerts", "list", "--json", "--source", "alertmanager"], env);
    expect(list.code, list.output).toBe(0);
    expect((JSON.parse(list.stdout) as Array<{ id: number }>).map((a) => a.id)).toEqual([ids[1], ids[0]]);

    const show = await runCcm(["alerts", "show", String(ids[0])], env);
    expect(show.code, show.output).toBe(0);
    expect(show.stdout).toMatch(/alert \d+ +firing +from alertmanager/);

    const missing = await runCcm(["alerts", "show", "999999"], env);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/no alert with id 999999/);
    const usage = await runCcm(["alerts", "list", "--status", "burning"], env);
    expect(usage.code).toBe(2);
  });
});
