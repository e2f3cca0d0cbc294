import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { PgAgentStore } from "@ccm/store";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { createHubApp } from "../app.ts";
import { fixtureText, json } from "./testing.ts";

let db: TestDatabase;
const TOKEN = "elastic-token-0123456789abcdef";
let app: ReturnType<typeof createHubApp>;

beforeAll(async () => {
  db = await createTestDatabase();
  app = createHubApp({ db: db.pool, log: silentLogger(), config: { CCM_WEBHOOK_TOKEN: TOKEN, CCM_WEBHOOK_MAX_BYTES: 1 << 20 } });
  const store = new PgAgentStore(db.pool);
  for (const host of ["web-1", "web-2", "db-1"]) await store.enroll({ host, aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await db.pool.query("truncate ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.incidents, ccm.flapping_conditions cascade");
});

function post(body: string, headers: Record<string, string> = {}) {
  return app.request("/v1/webhooks/elastic", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });
}

describe("POST /v1/webhooks/elastic", () => {
  it("a Kibana per-alert action: one task named by the rule, fingerprint rule id + alert uuid", async () => {
    const body = await json(await post(fixtureText("elastic/kibana-per-alert.json")));
    expect(body.alerts).toEqual([expect.objectContaining({ outcome: "created", host: "web-1" })]);
    const { rows } = await db.pool.query("select t.alertname, t.labels, t.annotations, a.fingerprint from ccm.tasks t join ccm.alerts a on a.task_id = t.id");
    expect(rows[0]).toMatchObject({
      alertname: "DiskAlmostFull",
      fingerprint: "3f1c2a60-7d3b-11ee-b962-0242ac120002:8c4e5f0a-1b2c-4d3e-9f80-a1b2c3d4e5f6",
      labels: { host: "web-1", severity: "warning", rule_id: "3f1c2a60-7d3b-11ee-b962-0242ac120002" },
      annotations: { message: "Disk used is 93.2% on web-1, above 90%" },
    });
  });

  it("the Recovered action of the same alert cancels the unstarted task", async () => {
    await post(fixtureText("elastic/kibana-per-alert.json"));
    const body = await json(await post(fixtureText("elastic/kibana-per-alert-recovered.json")));
    expect(body.alerts[0]?.outcome).toBe("cancelled");
  });

  it("Kibana's summary of alerts: several alerts in one body, the closing {} skipped, rule defaults applied", async () => {
    const res = await post(fixtureText("elastic/kibana-summary.json"));
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.alerts.map((a) => [a.host, a.outcome])).toEqual([
      ["web-1", "created"],
      ["db-1", "created"],
      ["web-2", "resolved_unmatched"],
    ]);
    const { rows } = await db.pool.query("select distinct alertname from ccm.alerts");
    expect(rows).toEqual([{ alertname: "HighErrorRate" }]);
  });

  it("a Watcher action (execution time in Java's zoned form) is accepted", async () => {
    const body = await json(await post(fixtureText("elastic/watcher.json")));
    expect(body.alerts.map((a) => a.outcome)).toEqual(["created", "created"]);
    const { rows } = await db.pool.query("select starts_at from ccm.alerts limit 1");
    expect(rows[0].starts_at.toISOString()).toBe("2026-11-23T02:05:00.123Z");
  });

  it("blank mustache variables count as absent: no host means an unrouted task that says why", async () => {
    const body = await json(await post(fixtureText("elastic/kibana-missing-optional.json")));
    expect(body.alerts[0]).toMatchObject({ outcome: "unrouted", host: null });
    const { rows } = await db.pool.query("select alertname, summary from ccm.tasks");
    expect(rows[0]).toMatchObject({ alertname: "ElasticAlert", summary: expect.stringMatching(/names no host/) });
  });

  it.each([
    ["no id", JSON.stringify({ status: "firing", host: "web-1" }), 400, /Elastic alert/],
    ["unknown status", JSON.stringify({ id: "r:1", status: "exploded" }), 400, /Elastic alert/],
    ["summary with only the closing {}", JSON.stringify({ alerts: [{}] }), 400, /no alerts/],
    ["summary item with a typo", JSON.stringify({ alerts: [{ id: "x", statuss: "firing" }, {}] }), 400, /summary/],
    ["bad started_at", JSON.stringify({ id: "r:1", status: "firing", started_at: "yesterday" }), 400, /Elastic alert/],
  ])("%s -> %i", async (_name, body, status, reason) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect((await json(res)).error).toMatch(reason);
  });

  it("needs the bearer token like every source", async () => {
    expect((await post(fixtureText("elastic/kibana-per-alert.json"), { authorization: "Bearer nope" })).status).toBe(401);
  });
});
