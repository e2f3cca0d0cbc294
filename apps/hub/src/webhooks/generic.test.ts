import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { ConfigError } from "@ccm/schemas";
import { PgAgentStore } from "@ccm/store";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { createHubApp } from "../app.ts";
import { loadSourcesFile } from "./sources-file.ts";
import { fixturePath, fixtureText, json } from "./testing.ts";

let db: TestDatabase;
const TOKEN = "global-token-0123456789abcdef";
let app: ReturnType<typeof createHubApp>;

beforeAll(async () => {
  db = await createTestDatabase();
  app = createHubApp({
    db: db.pool,
    log: silentLogger(),
    config: { CCM_WEBHOOK_TOKEN: TOKEN, CCM_WEBHOOK_MAX_BYTES: 1 << 20 },
    sources: loadSourcesFile(fixturePath("generic/sources.yaml")),
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

function post(name: string, body: string, token = TOKEN) {
  return app.request(`/v1/webhooks/generic/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body,
  });
}

describe("POST /v1/webhooks/generic/<name>", () => {
  it("Zabbix: fields mapped by path, status through status_map, epoch clock as startsAt, tags as labels", async () => {
    const body = await json(await post("zabbix", fixtureText("generic/zabbix-problem.json")));
    expect(body.alerts).toEqual([expect.objectContaining({ outcome: "created", host: "web-1" })]);
    const { rows } = await db.pool.query("select source, fingerprint, alertname, labels, annotations, starts_at from ccm.alerts");
    expect(rows[0]).toMatchObject({
      source: "generic:zabbix",
      fingerprint: "48231",
      alertname: "Free disk space is less than 10% on /",
      labels: { host: "web-1", severity: "High", scope: "capacity", mount: "/" },
      annotations: { message: "/ is 94% full" },
    });
    expect(rows[0].starts_at.toISOString()).toBe(new Date(1795399200 * 1000).toISOString());

    const resolved = await json(await post("zabbix", fixtureText("generic/zabbix-resolved.json")));
    expect(resolved.alerts[0]?.outcome).toBe("cancelled");
  });

  it("ElastAlert2: the list of alerts at a path; no status means firing", async () => {
    const body = await json(await post("elastalert", fixtureText("generic/elastalert-matches.json")));
    expect(body.alerts.map((a) => [a.host, a.outcome])).toEqual([
      ["web-1", "created"],
      ["db-1", "created"],
    ]);
  });

  it("a cron script: a bare array, its own token, built-in statuses (PROBLEM, ok)", async () => {
    expect((await post("cron", fixtureText("generic/cron.json"))).status).toBe(401);
    const body = await json(await post("cron", fixtureText("generic/cron.json"), "cron-token-0123456789abcdef"));
    expect(body.alerts.map((a) => a.outcome)).toEqual(["created", "resolved_unmatched"]);
    // No id mapped: the fingerprint is derived from the labels, so a resend is a duplicate.
    const again = await json(await post("cron", fixtureText("generic/cron.json"), "cron-token-0123456789abcdef"));
    expect(again.alerts.map((a) => a.outcome)).toEqual(["duplicate", "duplicate"]);
  });

  it("an unknown source name is 404 naming the configured ones", async () => {
    const res = await post("nagios", "{}");
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatch(/no generic source named "nagios"; configured: zabbix, elastalert, cron/);
    expect((await post("__proto__", "{}")).status).toBe(404);
  });

  it.each([
    ["a missing host", { event: { id: "1", value: "1" }, trigger: { name: "x" } }, /no host at host.name/],
    ["an unmapped status", { event: { id: "1", value: "7" }, host: { name: "web-1" }, trigger: { name: "x" } }, /status "7".*status_map/],
    ["labels not an object", { event: { id: "1" }, host: { name: "web-1" }, trigger: { name: "x" }, tags: ["a"] }, /labels at tags/],
    ["a host that is an object", { event: { id: "1" }, host: { name: { x: 1 } }, trigger: { name: "x" } }, /no host/],
    ["a bad clock", { event: { id: "1", clock: "soon" }, host: { name: "web-1" }, trigger: { name: "x" } }, /startsAt/],
  ])("%s -> 400 with the field", async (_name, body, reason) => {
    const res = await post("zabbix", JSON.stringify(body));
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatch(reason);
  });
});

describe("CCM_SOURCES_FILE", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ccm-sources-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => {
    const p = path.join(dir, `s-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(p, text);
    return p;
  };

  it("absent: no generic sources", () => {
    expect(loadSourcesFile(undefined)).toEqual({ generic: {} });
  });

  it("JSON works too", () => {
    const p = write(JSON.stringify({ generic: { x: { fields: { host: "h", alertname: "n" } } } }));
    expect(loadSourcesFile(p).generic.x?.fields.host).toBe("h");
  });

  it.each([
    ["a missing file", null, /CCM_SOURCES_FILE: cannot read/],
    ["a mapping without alertname", "generic:\n  x:\n    fields: {host: h}\n", /generic.x.fields.alertname/],
    ["an unknown key", "generic:\n  x:\n    fields: {host: h, alertname: n}\n    feilds: {}\n", /feilds/],
    ["a bad source name", "generic:\n  Bad Name:\n    fields: {host: h, alertname: n}\n", /generic/],
    ["a short token", "generic:\n  x:\n    token: short\n    fields: {host: h, alertname: n}\n", /generic.x.token/],
    ["not YAML", "generic: [unclosed\n", /not valid YAML/],
  ])("%s fails at start naming the key", (_name, text, reason) => {
    const p = text === null ? path.join(dir, "missing.yaml") : write(text);
    expect(() => loadSourcesFile(p)).toThrow(ConfigError);
    expect(() => loadSourcesFile(p)).toThrow(reason);
  });
});
