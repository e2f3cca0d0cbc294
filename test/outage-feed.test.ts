import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createTestDatabase, waitFor, type TestDatabase } from "./support/db.ts";
import { alertmanagerPayload } from "./support/alerts.ts";
import { freePort, spawnCcm, type CcmProcess } from "./support/processes.ts";
import { startTcpProxy, type TcpProxy } from "./support/tcp-proxy.ts";

// Issue 8: the database goes away for 30 s while alerts keep coming. The hub answers 503 and the
// sender retries (as Alertmanager does); the agent backs off and resumes. Afterwards every alert
// is in the database exactly once and every task was worked.

const OUTAGE_MS = 30_000;
const FEED_MS = 40_000;
const HOST = `feed-${process.pid}`;
let db: TestDatabase;
let proxy: TcpProxy;
let dir: string;
const spawned: CcmProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-outage-"));
});
afterAll(async () => {
  for (const p of spawned) p.kill("SIGKILL");
  await proxy?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("a 30 s database outage under a steady alert feed", () => {
  it("loses nothing, doubles nothing, and the agent resumes without a hot loop", async () => {
    const viaProxy = new URL(db.url);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const port = await freePort();
    const hub = spawnCcm(["hub"], {
      DATABASE_URL: viaProxy.toString(),
      CCM_HUB_PORT: String(port),
      CCM_HUB_HOST: "127.0.0.1",
      CCM_HUB_MIGRATE: "false",
      CCM_LOG_LEVEL: "info",
    });
    spawned.push(hub);
    await writeFile(
      path.join(dir, "agent.yaml"),
      stringify({ host: HOST, poll_interval_ms: 500, lease_seconds: 10, playbooks: { "test-sleep": { duration_ms: 0 } } }),
    );
    const agent = spawnCcm(["agent"], {
      DATABASE_URL: viaProxy.toString(),
      CCM_AGENT_CONFIG: path.join(dir, "agent.yaml"),
      CCM_TEST_PLAYBOOKS: "1",
      CCM_LOG_LEVEL: "info",
    });
    spawned.push(agent);
    await waitFor("hub ready", async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok, 30_000);
    await waitFor("agent enrolled", async () => (await db.pool.query("select 1 from ccm.agents where host = $1", [HOST])).rowCount, 30_000);

    // Like Alertmanager: each notification is retried until it gets a 2xx.
    let sent = 0;
    let answered503 = 0;
    const deliveries: Promise<void>[] = [];
    const deliver = async (i: number) => {
      const body = JSON.stringify(
        alertmanagerPayload([{ labels: { alertname: "CCMTestSleep", host: HOST, mountpoint: `/feed/${i}` }, fingerprint: `feed-${i}` }]),
      );
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${port}/v1/webhooks/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(10_000),
        }).catch(() => null);
        if (res?.status === 200) return;
        if (res?.status === 503) answered503++;
        else if (res) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    };
    const t0 = Date.now();
    setTimeout(() => void proxy.cut(), 3_000);
    setTimeout(() => void proxy.restore(), 3_000 + OUTAGE_MS);
    while (Date.now() - t0 < FEED_MS) {
      deliveries.push(deliver(sent++));
      await new Promise((r) => setTimeout(r, 250));
    }
    await Promise.all(deliveries);

    expect(answered503).toBeGreaterThan(0);
    const { rows: alerts } = await db.pool.query("select fingerprint, receive_count from ccm.alerts");
    expect(alerts).toHaveLength(sent);
    expect(new Set(alerts.map((a) => a.fingerprint)).size).toBe(sent);
    await waitFor(
      "every task worked",
      async () => {
        const { rows } = await db.pool.query("select count(*)::int as n from ccm.tasks where status = 'succeeded'");
        return rows[0].n === sent;
      },
      60_000,
      500,
    ).catch(async (err) => {
      const { rows } = await db.pool.query("select status, count(*)::int as n from ccm.tasks group by 1");
      throw new Error(`${err}: ${JSON.stringify(rows)}\n${agent.output().slice(-3000)}`);
    });
    const { rows: runs } = await db.pool.query("select count(*)::int as n from ccm.runs where status = 'succeeded'");
    expect(runs[0].n).toBe(sent);

    // Both processes survived, and the agent logged its claim failures at most once per 30 s.
    expect(hub.child.exitCode).toBeNull();
    expect(agent.child.exitCode).toBeNull();
    const claimFailures = agent.output().split("\n").filter((l) => l.includes("claim failed; will retry")).length;
    expect(claimFailures).toBeGreaterThan(0);
    expect(claimFailures).toBeLessThanOrEqual(3);
  }, 180_000);
});
