import { Hono } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "@ccm/logger";
import { PgAgentStore } from "@ccm/store";
import { alertmanagerPayload } from "../../../../test/support/alerts.ts";
import { createTestDatabase, type TestDatabase } from "../../../../test/support/db.ts";
import { createHubApp } from "../app.ts";
import { errorHandler } from "../http-errors.ts";
import { webhookRoutes } from "./index.ts";
import { Ingestor } from "./ingest.ts";
import { seeded } from "./fuzz.ts";
import { json } from "./testing.ts";

let db: TestDatabase;
let app: ReturnType<typeof createHubApp>;
const HOSTS = Array.from({ length: 50 }, (_, i) => `node-${String(i + 1).padStart(2, "0")}`);

beforeAll(async () => {
  db = await createTestDatabase();
  app = createHubApp({ db: db.pool, log: silentLogger(), config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 4 << 20 } });
  const store = new PgAgentStore(db.pool);
  for (const host of [...HOSTS, "web-1"]) await store.enroll({ host, aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  await db.pool.query("truncate ccm.alerts, ccm.tasks, ccm.runs, ccm.run_steps, ccm.incidents, ccm.flapping_conditions cascade");
});

/** Deterministic shuffle (mulberry32), so a failure replays. */
function shuffle<T>(items: T[], seed: number): T[] {
  const rand = seeded(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function postAm(body: unknown) {
  return app.request("/v1/webhooks/alertmanager", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}
function postGrafana(body: unknown) {
  return app.request("/v1/webhooks/grafana", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** A sender's behaviour: 503 means retry (Alertmanager and Grafana both do). */
async function deliver(send: () => Response | Promise<Response>): Promise<{ outcomes: string[]; retries: number }> {
  for (let retries = 0; retries < 10; retries++) {
    const res = await send();
    if (res.status === 200) return { outcomes: (await json(res)).alerts.map((a) => a.outcome), retries };
    expect(res.status, await res.text()).toBe(503);
  }
  throw new Error("still 503 after 10 tries");
}

describe("a storm of 5,000 alerts across 50 hosts", () => {
  it("collapses to one task per alertname and host, one fleet-wide incident, every alert kept", async () => {
    type A = { src: "am" | "grafana"; labels: Record<string, string>; fingerprint: string };
    const alerts: A[] = [];
    // 4,000 HighCPU (80 per core/process variant on each of 50 hosts) from Alertmanager...
    for (const host of HOSTS) for (let i = 0; i < 80; i++) alerts.push({ src: "am", labels: { alertname: "HighCPU", host, core: String(i) }, fingerprint: `cpu-${host}-${i}` });
    // ...and 1,000 DiskFull from Grafana on 5 hosts (below the fleet threshold of 10).
    for (const host of HOSTS.slice(0, 5)) for (let i = 0; i < 200; i++) alerts.push({ src: "grafana", labels: { alertname: "DiskFull", host, mount: `/m${i}` }, fingerprint: `disk-${host}-${i}` });
    expect(alerts).toHaveLength(5000);

    const mixed = shuffle(alerts, 7);
    const batches: Array<() => Response | Promise<Response>> = [];
    for (let i = 0; i < mixed.length; i += 100) {
      const chunk = mixed.slice(i, i + 100);
      const am = chunk.filter((a) => a.src === "am");
      const gf = chunk.filter((a) => a.src === "grafana");
      if (am.length) batches.push(() => postAm(alertmanagerPayload(am.map((a) => ({ labels: a.labels, fingerprint: a.fingerprint })))));
      if (gf.length) {
        batches.push(() =>
          postGrafana({
            version: "1", orgId: 1, status: "firing", receiver: "ccm", groupKey: "storm", title: "", state: "alerting", message: "",
            alerts: gf.map((a) => ({ status: "firing", labels: a.labels, annotations: {}, startsAt: "2026-11-23T02:00:00Z", fingerprint: a.fingerprint })),
          }),
        );
      }
    }
    // Four senders at once, as Alertmanager's parallel notification pipelines would.
    const outcomes: string[] = [];
    let retries = 0;
    for (let i = 0; i < batches.length; i += 4) {
      const done = await Promise.all(batches.slice(i, i + 4).map((b) => deliver(b)));
      for (const d of done) {
        outcomes.push(...d.outcomes);
        retries += d.retries;
      }
    }
    expect(outcomes).toHaveLength(5000);
    const counts = outcomes.reduce<Record<string, number>>((m, o) => ({ ...m, [o]: (m[o] ?? 0) + 1 }), {});
    expect(counts).toEqual({ created: 55, absorbed: 4945 });

    const tasks = await db.pool.query(
      "select alertname, count(*)::int as tasks, min(alert_count) as min, max(alert_count) as max, count(incident_id)::int as linked from ccm.tasks group by alertname order by alertname",
    );
    expect(tasks.rows).toEqual([
      { alertname: "DiskFull", tasks: 5, min: 200, max: 200, linked: 0 },
      { alertname: "HighCPU", tasks: 50, min: 80, max: 80, linked: 50 },
    ]);
    const incidents = await db.pool.query("select kind, status, alertname, host_count, task_count, alert_count from ccm.incidents");
    expect(incidents.rows).toEqual([{ kind: "fleet_storm", status: "open", alertname: "HighCPU", host_count: 50, task_count: 50, alert_count: 4000 }]);
    // The per-host tasks still run: one queued run each.
    const runs = await db.pool.query("select count(*)::int as n, count(distinct task_id)::int as tasks from ccm.runs where status = 'queued'");
    expect(runs.rows[0]).toEqual({ n: 55, tasks: 55 });
    expect((await db.pool.query("select count(*)::int as n from ccm.alerts")).rows[0].n).toBe(5000);
    console.log(`[storm] ${batches.length} deliveries, ${retries} retried after 503`);
  });

  it("below the threshold there is no incident, and the threshold is a setting", async () => {
    await db.pool.query("select ccm.set_setting('storm.fleet_hosts', '3')");
    try {
      const send = (hosts: string[]) => postAm(alertmanagerPayload(hosts.map((host) => ({ labels: { alertname: "Load", host }, fingerprint: `load-${host}` }))));
      await send(HOSTS.slice(0, 2));
      expect((await db.pool.query("select count(*)::int as n from ccm.incidents")).rows[0].n).toBe(0);
      await send(HOSTS.slice(2, 3));
      const { rows } = await db.pool.query("select host_count from ccm.incidents");
      expect(rows).toEqual([{ host_count: 3 }]);
    } finally {
      await db.pool.query("select ccm.set_setting('storm.fleet_hosts', '10')");
    }
  });

  it("a bad setting is refused by the database, so it can never break ingest", async () => {
    await expect(db.pool.query("select ccm.set_setting('storm.fleet_hosts', '\"ten\"')")).rejects.toThrow(/settings_value_shape/);
    await expect(db.pool.query("select ccm.set_setting('storm.group_by', '[]')")).rejects.toThrow(/settings_value_shape/);
    await expect(db.pool.query("select ccm.set_setting('no.such', '1')")).rejects.toThrow(/unknown setting/);
  });
});

describe("flapping", () => {
  const episode = (n: number, status: "firing" | "resolved", host = "web-1") =>
    alertmanagerPayload([{ labels: { alertname: "Flappy", host }, fingerprint: `flap-${host}`, startsAt: `2026-11-23T0${n}:00:00Z`, status }], status);

  it("fires and resolves 3 times, then fires again: escalated once, nothing re-run, later firings absorbed", async () => {
    const outcomes: string[] = [];
    for (let n = 1; n <= 3; n++) {
      outcomes.push(...(await json(await postAm(episode(n, "firing")))).alerts.map((a) => a.outcome));
      outcomes.push(...(await json(await postAm(episode(n, "resolved")))).alerts.map((a) => a.outcome));
    }
    expect(outcomes).toEqual(["created", "cancelled", "created", "cancelled", "created", "cancelled"]);

    const fourth = (await json(await postAm(episode(4, "firing")))).alerts[0];
    expect(fourth?.outcome).toBe("flapping_escalated");
    const fifth = (await json(await postAm(episode(5, "firing")))).alerts[0];
    expect(fifth).toMatchObject({ outcome: "flapping", task_id: fourth?.task_id });

    const { rows } = await db.pool.query("select status, flapping, alert_count, summary from ccm.tasks where id = $1", [fourth?.task_id]);
    expect(rows[0]).toMatchObject({ status: "escalated", flapping: true, alert_count: 2, summary: expect.stringMatching(/flapping: resolved 3 times/) });
    expect((await db.pool.query("select count(*)::int as n from ccm.runs where task_id = $1", [fourth?.task_id])).rows[0].n).toBe(0);
    expect((await db.pool.query("select count(*)::int as n from ccm.runs where status = 'queued'")).rows[0].n).toBe(0);
    expect((await db.pool.query("select count(*)::int as n from ccm.tasks where status = 'escalated'")).rows[0].n).toBe(1);

    // The same alert on another host is its own condition.
    expect((await json(await postAm(episode(4, "firing", "node-01")))).alerts[0]?.outcome).toBe("created");
  });

  it("a flapping condition that has been quiet for the window is handled normally again", async () => {
    for (let n = 1; n <= 3; n++) {
      await postAm(episode(n, "firing"));
      await postAm(episode(n, "resolved"));
    }
    expect((await json(await postAm(episode(4, "firing")))).alerts[0]?.outcome).toBe("flapping_escalated");
    await db.pool.query("update ccm.flapping_conditions set last_seen_at = now() - interval '2 hours'");
    await db.pool.query("update ccm.alerts set received_at = now() - interval '2 hours'");
    await db.pool.query("update ccm.tasks set status = 'succeeded' where status = 'escalated'");
    expect((await json(await postAm(episode(6, "firing")))).alerts[0]?.outcome).toBe("created");
  });

  it("max_flaps 0 turns detection off", async () => {
    await db.pool.query("select ccm.set_setting('flapping.max_flaps', '0')");
    try {
      for (let n = 1; n <= 4; n++) {
        expect((await json(await postAm(episode(n, "firing")))).alerts[0]?.outcome).toBe("created");
        await postAm(episode(n, "resolved"));
      }
    } finally {
      await db.pool.query("select ccm.set_setting('flapping.max_flaps', '3')");
    }
  });
});

describe("raw payloads for audit", () => {
  it("are kept per alert, and a huge one keeps a truncated head with a marker", async () => {
    const big = "x".repeat(100 * 1024);
    const body = alertmanagerPayload([
      { labels: { alertname: "Small", host: "web-1" }, fingerprint: "small" },
      { labels: { alertname: "Big", host: "web-1" }, annotations: { description: big }, fingerprint: "big" },
    ]);
    expect((await postAm(body)).status).toBe(200);
    const { rows } = await db.pool.query("select fingerprint, raw_truncated, raw from ccm.alerts order by id");
    expect(rows[0]).toMatchObject({ fingerprint: "small", raw_truncated: false, raw: { labels: { alertname: "Small" } } });
    expect(rows[1]).toMatchObject({ fingerprint: "big", raw_truncated: true, raw: { truncated: true } });
    expect(rows[1].raw.original_bytes).toBeGreaterThan(100 * 1024);
    expect(rows[1].raw.head.length).toBeLessThanOrEqual(64 * 1024);
  });
});

describe("overload answers 503 with Retry-After instead of hanging", () => {
  // An ingest blocked on purpose: a new Slow task waits for the fleet-storm lock we hold.
  async function blockSlowIngest() {
    const blocker = await db.pool.connect();
    await blocker.query("begin");
    await blocker.query("select pg_advisory_xact_lock(hashtextextended('ccm.fleet_storm:' || 'Slow', 0))");
    return {
      async release() {
        await blocker.query("rollback");
        blocker.release();
      },
    };
  }
  function appWith(ingestor: Ingestor) {
    const a = new Hono();
    a.onError(errorHandler(silentLogger()));
    a.route("/v1/webhooks", webhookRoutes({ db: db.pool, log: silentLogger(), config: { CCM_WEBHOOK_TOKEN: undefined, CCM_WEBHOOK_MAX_BYTES: 1 << 20 }, ingestor }));
    return a;
  }
  const slow = JSON.stringify(alertmanagerPayload([{ labels: { alertname: "Slow", host: "web-1" }, fingerprint: "slow" }]));
  const other = JSON.stringify(alertmanagerPayload([{ labels: { alertname: "Other", host: "web-1" }, fingerprint: "other" }]));
  const req = (a: Hono, body: string) => a.request("/v1/webhooks/alertmanager", { method: "POST", headers: { "content-type": "application/json" }, body });

  it("beyond the in-flight limit: 503 at once; the held request still lands", async () => {
    const ingestor = new Ingestor(db.pool, { maxInFlight: 1, statementTimeoutMs: 60_000 });
    const a = appWith(ingestor);
    const lock = await blockSlowIngest();
    const first = req(a, slow);
    try {
      for (let i = 0; i < 200 && ingestor.running === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(ingestor.running).toBe(1);
      const busy = await req(a, other);
      expect(busy.status).toBe(503);
      expect(busy.headers.get("retry-after")).toBe("1");
      expect((await json(busy)).error).toMatch(/busy/);
    } finally {
      await lock.release();
    }
    expect((await first).status).toBe(200);
    expect((await req(a, other)).status).toBe(200);
  });

  it("an ingest slower than the statement timeout is 503, and nothing of it was committed", async () => {
    const a = appWith(new Ingestor(db.pool, { maxInFlight: 4, statementTimeoutMs: 300 }));
    const lock = await blockSlowIngest();
    try {
      const res = await req(a, slow);
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      expect((await json(res)).error).toMatch(/in time/);
    } finally {
      await lock.release();
    }
    expect((await db.pool.query("select count(*)::int as n from ccm.alerts")).rows[0].n).toBe(0);
  });
});
