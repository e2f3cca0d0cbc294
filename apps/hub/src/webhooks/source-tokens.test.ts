import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { createHubApp } from "../app.ts";
import { parseHubConfig } from "../config.ts";
import { fixtureText } from "./testing.ts";

// A source's own token replaces the shared CCM_WEBHOOK_TOKEN for that source only, so a token
// leaked from one sender (say Grafana) cannot post alerts as another (Alertmanager).

const SHARED = "shared-webhook-token-0123456789";
const GRAFANA = "grafana-only-token-0123456789";
const GRAFANA_NEXT = "grafana-next-token-0123456789";
let db: TestDatabase;
let app: ReturnType<typeof createHubApp>;

const am = JSON.stringify({
  version: "4",
  groupKey: "{}:{alertname=\"T\"}",
  truncatedAlerts: 0,
  status: "firing",
  receiver: "ccm",
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: "http://am:9093",
  alerts: [{ status: "firing", labels: { alertname: "T", host: "nowhere" }, annotations: {}, startsAt: "2026-11-23T10:00:00Z", endsAt: "0001-01-01T00:00:00Z", generatorURL: "", fingerprint: "tok1" }],
});

const post = (source: string, body: string, token: string) =>
  app.request(`/v1/webhooks/${source}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });

beforeAll(async () => {
  db = await createTestDatabase();
  const config = parseHubConfig({ CCM_WEBHOOK_TOKEN: SHARED, CCM_GRAFANA_TOKEN: `${GRAFANA},${GRAFANA_NEXT}` });
  app = createHubApp({ db: db.pool, log: silentLogger(), config });
});
afterAll(async () => {
  await db?.drop();
});

describe("per-source webhook tokens", () => {
  it("Grafana takes only its own tokens (current and next); the other sources keep the shared one", async () => {
    const grafana = fixtureText("grafana/firing-two-alerts.json");
    expect((await post("grafana", grafana, SHARED)).status).toBe(401);
    expect((await post("grafana", grafana, GRAFANA)).status).toBe(200);
    expect((await post("grafana", grafana, GRAFANA_NEXT)).status).toBe(200);
    expect((await post("alertmanager", am, GRAFANA)).status).toBe(401);
    expect((await post("alertmanager", am, SHARED)).status).toBe(200);
    expect((await post("elastic", fixtureText("elastic/kibana-per-alert.json"), GRAFANA)).status).toBe(401);
  });

  it("a per-source token shorter than 16 characters fails at start naming the key", () => {
    expect(() => parseHubConfig({ CCM_ALERTMANAGER_TOKEN: "short" })).toThrow(/CCM_ALERTMANAGER_TOKEN: each comma-separated token must be at least 16 characters/);
  });
});
