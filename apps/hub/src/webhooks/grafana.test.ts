import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { PgAgentStore } from "@ccm/store";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { createHubApp } from "../app.ts";
import { grafanaSignature } from "./grafana-signature.ts";
import { fixture, fixtureText, json } from "./testing.ts";

let db: TestDatabase;
const SECRET = "grafana-hmac-secret-0123456789";
let open: ReturnType<typeof createHubApp>;
let signed: ReturnType<typeof createHubApp>;
let signedTs: ReturnType<typeof createHubApp>;

beforeAll(async () => {
  db = await createTestDatabase();
  const base = { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 1 << 20 };
  open = createHubApp({ db: db.pool, log: silentLogger(), config: base });
  signed = createHubApp({ db: db.pool, log: silentLogger(), config: { ...base, CCM_GRAFANA_HMAC_SECRET: SECRET } });
  signedTs = createHubApp({
    db: db.pool,
    log: silentLogger(),
    config: { ...base, CCM_GRAFANA_HMAC_SECRET: SECRET, CCM_GRAFANA_TIMESTAMP_HEADER: "X-Grafana-Alerting-Timestamp", CCM_GRAFANA_MAX_SKEW_S: 300 },
  });
  const store = new PgAgentStore(db.pool);
  for (const host of ["web-1", "db-1"]) await store.enroll({ host, aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await db.pool.query("truncate ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.incidents, ccm.flapping_conditions cascade");
});

function post(app: ReturnType<typeof createHubApp>, body: string, headers: Record<string, string> = {}) {
  return app.request("/v1/webhooks/grafana", { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

async function written(): Promise<number> {
  const { rows } = await db.pool.query("select (select count(*) from ccm.alerts) + (select count(*) from ccm.tasks) as n");
  return Number(rows[0].n);
}

describe("POST /v1/webhooks/grafana (documented payloads)", () => {
  it("two firing alerts become two tasks routed by instance and host; Grafana's fields are kept in raw", async () => {
    const res = await post(open, fixtureText("grafana/firing-two-alerts.json"));
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.alerts.map((a) => [a.outcome, a.host])).toEqual([
      ["created", "web-1"],
      ["created", "db-1"],
    ]);
    const { rows } = await db.pool.query("select source, fingerprint, raw from ccm.alerts order by id");
    expect(rows[0]).toMatchObject({ source: "grafana", fingerprint: "c6eadffa33fcdf37" });
    expect(rows[1].raw).toMatchObject({ orgId: 1, imageURL: "https://grafana.example.com/render/abc.png", values: { B: 88.1, C: 1 } });
  });

  it("the resolved notification cancels the task nobody started", async () => {
    await post(open, fixtureText("grafana/firing-two-alerts.json"));
    const body = await json(await post(open, fixtureText("grafana/resolved.json")));
    expect(body.alerts).toEqual([expect.objectContaining({ outcome: "cancelled", host: "web-1" })]);
  });

  it("a payload without the optional fields (fingerprint, annotations, values, URLs, groupKey) is accepted", async () => {
    const res = await post(open, fixtureText("grafana/missing-optional.json"));
    expect(res.status).toBe(200);
    const a = await json(res);
    const b = await json(await post(open, fixtureText("grafana/missing-optional.json")));
    expect([a.alerts[0]?.outcome, b.alerts[0]?.outcome]).toEqual(["created", "duplicate"]);
  });

  it("a truncated notification says how many alerts Grafana left out", async () => {
    const res = await post(open, fixtureText("grafana/truncated.json"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ truncatedAlerts: 7, orgId: 1 });
  });

  it.each([
    ["an Alertmanager body (version 4)", { ...fixture("grafana/resolved.json"), version: "4" }, /Grafana/],
    ["no orgId", { ...fixture("grafana/resolved.json"), orgId: undefined }, /Grafana/],
    ["values not numbers", { ...fixture("grafana/resolved.json"), alerts: [{ ...fixture<{ alerts: object[] }>("grafana/resolved.json").alerts[0], values: { B: "x" } }] }, /Grafana/],
  ])("%s -> 400 and nothing written", async (_name, body, reason) => {
    const res = await post(open, JSON.stringify(body));
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatch(reason);
    expect(await written()).toBe(0);
  });
});

describe("Grafana HMAC signature", () => {
  const body = fixtureText("grafana/firing-two-alerts.json");

  it("a valid signature over the body is accepted", async () => {
    const res = await post(signed, body, { "X-Grafana-Alerting-Signature": grafanaSignature(SECRET, Buffer.from(body)) });
    expect(res.status).toBe(200);
  });

  it.each([
    ["missing", {}, /missing X-Grafana-Alerting-Signature/],
    ["wrong secret", { "X-Grafana-Alerting-Signature": grafanaSignature("another-secret-0123456789", Buffer.from(body)) }, /wrong/],
    ["over another body", { "X-Grafana-Alerting-Signature": grafanaSignature(SECRET, Buffer.from(body + " ")) }, /wrong/],
    ["not hex", { "X-Grafana-Alerting-Signature": "zz" }, /wrong/],
  ])("%s signature -> 401, nothing written", async (_name, headers, reason) => {
    const res = await post(signed, body, headers as Record<string, string>);
    expect(res.status).toBe(401);
    expect((await json(res)).error).toMatch(reason);
    expect(await written()).toBe(0);
  });

  it("with a timestamp header: signed as <ts>:<body>; fresh is accepted, stale and missing are 401", async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (ts: number) => ({
      "X-Grafana-Alerting-Timestamp": String(ts),
      "X-Grafana-Alerting-Signature": grafanaSignature(SECRET, Buffer.from(body), String(ts)),
    });
    expect((await post(signedTs, body, sign(now))).status).toBe(200);

    const stale = await post(signedTs, body, sign(now - 3600));
    expect(stale.status).toBe(401);
    expect((await json(stale)).error).toMatch(/stale/);

    const noTs = await post(signedTs, body, { "X-Grafana-Alerting-Signature": grafanaSignature(SECRET, Buffer.from(body)) });
    expect(noTs.status).toBe(401);
    expect((await json(noTs)).error).toMatch(/timestamp/);

    // A valid signature replayed with a new timestamp no longer matches.
    const replay = await post(signedTs, body, { ...sign(now - 3600), "X-Grafana-Alerting-Timestamp": String(now) });
    expect(replay.status).toBe(401);
  });
});
