import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { alertmanagerPayload } from "../../../../test/support/alerts.ts";
import { createHubApp } from "../app.ts";
import { deepArrayText, mutate, randomJson, seeded } from "./fuzz.ts";
import { loadSourcesFile } from "./sources-file.ts";
import { fixture, fixturePath } from "./testing.ts";

// Hostile input must always get a 4xx with a JSON reason: never a 5xx, never a crash.
// Seeded: set CCM_FUZZ_SEED to replay or explore another part of the space.
const SEED = Number(process.env.CCM_FUZZ_SEED ?? 20261123);

let db: TestDatabase;
let app: ReturnType<typeof createHubApp>;
const ROUTES = ["alertmanager", "grafana", "elastic", "generic/zabbix", "generic/cron", "generic/elastalert"];

beforeAll(async () => {
  db = await createTestDatabase();
  app = createHubApp({
    db: db.pool,
    log: silentLogger(),
    config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 512 * 1024 },
    sources: loadSourcesFile(fixturePath("generic/sources.yaml")),
  });
});
afterAll(async () => {
  await db?.drop();
});

async function post(route: string, body: string) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (route === "generic/cron") headers.authorization = "Bearer cron-token-0123456789abcdef";
  const res = await app.request(`/v1/webhooks/${route}`, { method: "POST", headers, body });
  const text = await res.text();
  return { status: res.status, text };
}

function expect4xx(r: { status: number; text: string }, what: string) {
  expect(r.status, `${what} -> ${r.status} ${r.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(r.status, `${what} -> ${r.status} ${r.text.slice(0, 300)}`).toBeLessThan(500);
  expect(JSON.parse(r.text)).toEqual({ error: expect.any(String), ...(JSON.parse(r.text).details ? { details: expect.any(Array) } : {}) });
}

describe(`fuzzed webhook payloads (seed ${SEED})`, () => {
  it("600 random JSON bodies on every route: all 4xx with a reason", async () => {
    const r = seeded(SEED);
    for (let i = 0; i < 600; i++) {
      const route = ROUTES[i % ROUTES.length] as string;
      const body = JSON.stringify(randomJson(r, 5));
      expect4xx(await post(route, body), `#${i} ${route} ${body.slice(0, 200)}`);
    }
  });

  it("600 mutations of documented payloads (one field of a wrong type): never 5xx", async () => {
    const r = seeded(SEED + 1);
    const valid: Array<[string, unknown]> = [
      ["alertmanager", alertmanagerPayload([{ labels: { alertname: "F", host: "web-1" }, fingerprint: "f1" }])],
      ["grafana", fixture("grafana/firing-two-alerts.json")],
      ["elastic", fixture("elastic/kibana-summary.json")],
      ["elastic", fixture("elastic/kibana-per-alert.json")],
      ["generic/zabbix", fixture("generic/zabbix-problem.json")],
      ["generic/elastalert", fixture("generic/elastalert-matches.json")],
    ];
    const seen: Record<number, number> = {};
    for (let i = 0; i < 600; i++) {
      const [route, payload] = valid[i % valid.length] as [string, unknown];
      const body = JSON.stringify(mutate(r, payload));
      const res = await post(route, body);
      seen[res.status] = (seen[res.status] ?? 0) + 1;
      expect(res.status, `#${i} ${route} ${body.slice(0, 300)} -> ${res.text.slice(0, 300)}`).toBeLessThan(500);
      if (res.status !== 200) expect4xx(res, `#${i} ${route}`);
    }
    // Most mutations break the payload; the test would be vacuous if none did.
    expect(Object.entries(seen).filter(([s]) => s.startsWith("4")).length).toBeGreaterThan(0);
  });

  it.each(ROUTES)("%s: deep nesting, huge strings, huge label values, bad times, NUL bytes, not-JSON", async (route) => {
    const cases: Array<[string, string]> = [
      ["nested 100,000 deep", deepArrayText(100_000)],
      ["alerts nested 5,000 deep", `{"alerts": ${deepArrayText(5_000)}}`],
      ["object nested 70 deep", `${'{"a":'.repeat(70)}1${"}".repeat(70)}`],
      ["a 600 KiB string", JSON.stringify("x".repeat(600 * 1024))],
      ["a 300 KiB host label", JSON.stringify(alertmanagerPayload([{ labels: { alertname: "A", host: "h".repeat(300 * 1024) } }]))],
      ["a 300 KiB alertname", JSON.stringify(alertmanagerPayload([{ labels: { alertname: "a".repeat(300 * 1024), host: "web-1" } }]))],
      ["February 30th", JSON.stringify(alertmanagerPayload([{ labels: { alertname: "A", host: "web-1" }, startsAt: "2026-02-30T00:00:00Z" }]))],
      ["year 0000", JSON.stringify(alertmanagerPayload([{ labels: { alertname: "A", host: "web-1" }, startsAt: "0000-01-01T00:00:00Z" }]))],
      ["NUL in a label", JSON.stringify(alertmanagerPayload([{ labels: { alertname: "A\u0000", host: "web-1" } }]))],
      ["lone surrogate", '{"alerts": [{"id": "\\ud800", "status": "firing"}]}'],
      ["not JSON", "{'single': quotes}"],
      ["a number", "42"],
      ["null", "null"],
      ["empty", ""],
    ];
    for (const [name, body] of cases) {
      const res = await post(route, body);
      // A few of these are valid for some routes (a huge alertname is a legal Alertmanager label).
      expect(res.status, `${route} ${name} -> ${res.text.slice(0, 300)}`).toBeLessThan(500);
      if (res.status !== 200) expect4xx(res, `${route} ${name}`);
    }
  });
});
