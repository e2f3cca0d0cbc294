import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createPool, PgAgentStore } from "@ccm/store";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { alertmanagerPayload, answer } from "../../../../test/support/alerts.ts";
import { createHubApp } from "../app.ts";

let db: TestDatabase;
const TOKEN = "s3cret-token-for-tests-0123";
let app: ReturnType<typeof createHubApp>;

beforeAll(async () => {
  db = await createTestDatabase();
  app = createHubApp({
    db: db.pool,
    log: silentLogger(),
    config: { CCM_WEBHOOK_TOKEN: TOKEN, CCM_WEBHOOK_MAX_BYTES: 64 * 1024 },
  });
  await new PgAgentStore(db.pool).enroll({ host: "web-1", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await db.pool.query("truncate ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps cascade");
});

function post(body: string, headers: Record<string, string> = {}) {
  return app.request("/v1/webhooks/alertmanager", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...headers },
    body,
  });
}

async function written(): Promise<number> {
  const { rows } = await db.pool.query("select (select count(*) from ccm.alerts) + (select count(*) from ccm.tasks) as n");
  return Number(rows[0].n);
}

const disk = alertmanagerPayload([
  { labels: { alertname: "NodeFilesystemAlmostOutOfSpace", instance: "web-1:9100", mountpoint: "/" }, fingerprint: "aa11" },
]);

describe("POST /v1/webhooks/alertmanager", () => {
  it("accepts a documented payload and answers after the commit with what became of each alert", async () => {
    const res = await post(JSON.stringify(disk));
    expect(res.status).toBe(200);
    const body = await answer(res);
    expect(body.alerts).toEqual([expect.objectContaining({ outcome: "created", host: "web-1" })]);
    const { rows } = await db.pool.query("select status from ccm.tasks where id = $1", [body.alerts[0]?.task_id]);
    expect(rows[0].status).toBe("queued");
  });

  it("the same delivery three times: one task", async () => {
    for (let i = 0; i < 3; i++) expect((await post(JSON.stringify(disk))).status).toBe(200);
    const { rows } = await db.pool.query("select count(*)::int as n from ccm.tasks");
    expect(rows[0].n).toBe(1);
  });

  it("accepts a payload without fingerprints (Alertmanager < 0.19) and derives a stable one", async () => {
    const p = alertmanagerPayload([{ labels: { alertname: "X", host: "web-1" } }]);
    const a = await answer(await post(JSON.stringify(p)));
    const b = await answer(await post(JSON.stringify(p)));
    expect(a.alerts[0]?.outcome).toBe("created");
    expect(b.alerts[0]?.outcome).toBe("duplicate");
  });

  it.each([
    ["malformed JSON", "{not json", {}, 400, /invalid JSON/],
    ["empty body", "", {}, 400, /empty body/],
    ["wrong version", JSON.stringify({ ...disk, version: "3" }), {}, 400, /Alertmanager/],
    ["no alerts", JSON.stringify({ ...disk, alerts: [] }), {}, 400, /Alertmanager/],
    ["label value not a string", JSON.stringify({ ...disk, alerts: [{ ...disk.alerts[0], labels: { a: 1 } }] }), {}, 400, /Alertmanager/],
    ["bad startsAt", JSON.stringify({ ...disk, alerts: [{ ...disk.alerts[0], startsAt: "yesterday" }] }), {}, 400, /Alertmanager/],
    ["wrong content-type", JSON.stringify(disk), { "content-type": "text/plain" }, 415, /content-type/],
    ["no token", JSON.stringify(disk), { authorization: "" }, 401, /bearer/],
    ["wrong token", JSON.stringify(disk), { authorization: "Bearer nope" }, 401, /bearer/],
    ["oversized", JSON.stringify({ ...disk, commonAnnotations: { x: "y".repeat(70 * 1024) } }), {}, 413, /limit/],
  ])("%s -> %i with a JSON reason, and nothing written", async (_name, body, headers, status, reason) => {
    const res = await post(body, headers as Record<string, string>);
    expect(res.status).toBe(status);
    const json = await answer(res);
    expect(json.error).toMatch(reason);
    expect(await written()).toBe(0);
  });

  it("names the offending field of an invalid payload", async () => {
    const res = await post(JSON.stringify({ ...disk, alerts: [{ ...disk.alerts[0], status: "burning" }] }));
    const json = await answer(res);
    expect(json.details).toEqual([expect.objectContaining({ path: "alerts.0.status" })]);
  });

  it("GET is 405, unknown routes 404", async () => {
    expect((await app.request("/v1/webhooks/alertmanager")).status).toBe(405);
    expect((await app.request("/v1/nope")).status).toBe(404);
  });
});

describe("database unreachable", () => {
  it("webhook 503 with Retry-After, readyz 503, healthz still 200", async () => {
    const dead = createPool("postgres://postgres@127.0.0.1:1/none", { connectionTimeoutMillis: 1000 });
    const deadApp = createHubApp({ db: dead, log: silentLogger(), config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 65536 } });
    const res = await deadApp.request("/v1/webhooks/alertmanager", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(disk),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await deadApp.request("/readyz")).status).toBe(503);
    expect((await deadApp.request("/healthz")).status).toBe(200);
    await dead.end();
  });
});
