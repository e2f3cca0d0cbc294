import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { broadcastFinished } from "../broadcast/sql-agents.ts";
import { alertmanagerPayload } from "../support/alerts.ts";
import { waitFor } from "../support/db.ts";
import { freePort, runCcm, spawnCcm, type CcmProcess } from "../support/processes.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.ts";
import { startFakeSupabase, type FakeSupabase } from "./fake-supabase.ts";
import { diskFullAgentFixture } from "./disk-full-agent.ts";
import { createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";

// A real `ccm hub` process on the supabase transport (SUPABASE_URL + service-role key, no
// DATABASE_URL) and a real `ccm agent` on its own (anon key + token): every call either makes
// is a PostgREST rpc, answered by the local stand-in on real Postgres as service_role / anon.

const ANON_KEY = "anon-key-for-tests-0123456789";
const SERVICE_KEY = "service-key-for-tests-0123456789";
const WEBHOOK_TOKEN = "webhook-token-for-tests-0123456789";
const token = randomBytes(32).toString("base64url");
const HOST = `sb-hub-${process.pid}`;

let db: SupabaseTestDatabase;
let fake: FakeSupabase;
let proxy: TcpProxy;
let dir: string;
let hub: CcmProcess | undefined;
let agent: CcmProcess | undefined;
let port = 0;

const hubUrl = () => `http://127.0.0.1:${port}`;
const hubEnv = (supabaseUrl: string) => ({
  DATABASE_URL: "",
  SUPABASE_URL: supabaseUrl,
  SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
  SUPABASE_REQUEST_TIMEOUT_MS: "2000",
  CCM_HUB_HOST: "127.0.0.1",
  CCM_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
  CCM_LEASE_SWEEP_INTERVAL_MS: "300",
});

const alertmanager = (fingerprint: string, labels: Record<string, string>) =>
  alertmanagerPayload([{ labels, fingerprint, startsAt: new Date().toISOString() }]);

const post = (body: unknown) =>
  fetch(`${hubUrl()}/v1/webhooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${WEBHOOK_TOKEN}` },
    body: JSON.stringify(body),
  });

const withOutput = (p: CcmProcess | undefined) => (err: unknown) => {
  throw new Error(`${String(err)}\n--- output ---\n${p?.output().slice(-4000)}`);
};

beforeAll(async () => {
  db = await createSupabaseTestDatabase({ realtime: true });
  await db.pool.query("select ccm.op_enroll_agent($1, $2)", [HOST, createHash("sha256").update(token).digest("hex")]);
  fake = await startFakeSupabase({ pool: db.pool, anonKey: ANON_KEY, serviceKey: SERVICE_KEY });
  // The hub reaches the stand-in through a proxy the test can cut (a PostgREST/network outage).
  proxy = await startTcpProxy("127.0.0.1", Number(new URL(fake.url).port));
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-sb-hub-"));
});
afterAll(async () => {
  agent?.kill("SIGKILL");
  hub?.kill("SIGKILL");
  await proxy?.close();
  await fake?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("hub on the supabase transport", () => {
  it("refuses to start on a schema older than its migrations, naming `supabase db push`", async () => {
    const { rows } = await db.pool.query<{ version: string }>("select max(version) as version from supabase_migrations.schema_migrations");
    const latest = rows[0]!.version;
    await db.pool.query("update supabase_migrations.schema_migrations set version = '19990101000000' where version = $1", [latest]);
    try {
      const r = await runCcm(["hub"], { ...hubEnv(fake.url), CCM_HUB_PORT: "0" });
      expect(r.code).not.toBe(0);
      expect(r.output).toContain(`this release needs ${latest}`);
      expect(r.output).toContain("supabase db push");
    } finally {
      await db.pool.query("update supabase_migrations.schema_migrations set version = $1 where version = '19990101000000'", [latest]);
    }
  });

  it("refuses to start without the service-role key, naming the key", async () => {
    const r = await runCcm(["hub"], { ...hubEnv(fake.url), SUPABASE_SERVICE_ROLE_KEY: "", CCM_HUB_PORT: "0" });
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("SUPABASE_SERVICE_ROLE_KEY: required with SUPABASE_URL");
  });

  it("an Alertmanager webhook becomes a task a supabase-transport agent fixes; every hub call is an rpc as the service role", async () => {
    port = await freePort();
    hub = spawnCcm(["hub"], { ...hubEnv(`http://127.0.0.1:${proxy.port}`), CCM_HUB_PORT: String(port) });
    await waitFor("hub ready", async () => (await fetch(`${hubUrl()}/readyz`).catch(() => null))?.ok, 30_000).catch(withOutput(hub));

    const { logs, config } = await diskFullAgentFixture(dir, HOST);
    agent = spawnCcm(["agent"], {
      CCM_AGENT_CONFIG: config,
      DATABASE_URL: "",
      SUPABASE_URL: fake.url,
      SUPABASE_ANON_KEY: ANON_KEY,
      CCM_AGENT_TOKEN: token,
    });
    await waitFor("agent registered", async () => (await db.pool.query("select 1 from ccm.agents where host = $1 and version is not null", [HOST])).rowCount, 30_000).catch(
      withOutput(agent),
    );

    const res = await post(alertmanager("sb-hub-disk", { alertname: "NodeFilesystemAlmostOutOfSpace", host: HOST, mountpoint: dir }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { alerts: Array<{ task_id: string; outcome: string }> };
    expect(body.alerts[0]?.outcome).toBe("created");
    const taskId = body.alerts[0]!.task_id;
    const run = await waitFor("run finished", async () => {
      const { rows } = await db.pool.query("select status, summary from ccm.runs where task_id = $1", [taskId]);
      return rows[0] && !["queued", "claimed", "running"].includes(rows[0].status) ? rows[0] : undefined;
    }, 30_000).catch(withOutput(agent));
    expect(run.status, `${run.summary}\n${agent.output().slice(-3000)}`).toBe("succeeded");
    expect(existsSync(path.join(logs, "app.log.1"))).toBe(false);
    expect(existsSync(path.join(logs, "app.log"))).toBe(true);

    // /metrics reads the database through ccm.hub_metrics_snapshot over PostgREST.
    const metrics = await (await fetch(`${hubUrl()}/metrics`)).text();
    expect(metrics).toMatch(/^ccm_hub_database_up 1$/m);
    expect(metrics).toMatch(/^ccm_runs\{status="succeeded"\} 1$/m);

    // Every request the hub made: a POST to /rest/v1/rpc/<fn>, with the service key, never an agent_* function.
    const hubCalls = fake.requests.filter((q) => q.headers.apikey === SERVICE_KEY);
    expect(hubCalls.every((q) => q.method === "POST" && q.path.startsWith("/rest/v1/rpc/") && q.headers.authorization === `Bearer ${SERVICE_KEY}`)).toBe(true);
    const fns = new Set(hubCalls.map((q) => q.path.slice("/rest/v1/rpc/".length)));
    for (const fn of ["schema_version", "ingest_alerts", "recover_expired_leases", "advance_broadcasts", "claim_notifications", "hub_metrics_snapshot"]) {
      expect(fns, `hub called ${[...fns].join(", ")}`).toContain(fn);
    }
    expect([...fns].some((f) => f.startsWith("agent_"))).toBe(false);
    // And the agent never used the service key.
    expect(fake.requests.filter((q) => q.headers.apikey === ANON_KEY).every((q) => q.path.startsWith("/rest/v1/rpc/agent_"))).toBe(true);
  });

  it("the lease sweeper recovers a dead agent's run over PostgREST", async () => {
    const res = await post(alertmanager("sb-hub-lease", { alertname: "SomethingOdd", host: HOST }));
    expect(res.status).toBe(200);
    const taskId = ((await res.json()) as { alerts: Array<{ task_id: string }> }).alerts[0]!.task_id;
    // A run claimed by an agent that then died: its lease ran out a minute ago.
    await db.pool.query(
      `update ccm.runs set status = 'claimed', claimed_at = now() - interval '2 minutes', lease_expires_at = now() - interval '1 minute',
              agent_id = (select id from ccm.agents where host = $2)
        where task_id = $1`,
      [taskId, HOST],
    );
    agent?.kill("SIGSTOP"); // the agent must not take it back before the sweeper sees it
    try {
      await waitFor("run recovered by the hub's sweeper", async () => {
        const { rows } = await db.pool.query("select status, lease_expires_at from ccm.runs where task_id = $1 order by created_at", [taskId]);
        return rows.some((r) => r.status === "queued" || r.status === "unknown");
      }, 15_000);
    } finally {
      agent?.kill("SIGCONT");
    }
  });

  it("a signed ad-hoc command goes CLI → PostgREST → hub rollout → agent over Realtime/rpc, verified and run with its argv", async () => {
    const keys = path.join(dir, "keys");
    const gen = await runCcm(["keys", "generate", "--out-dir", keys, "--name", "operator"], {});
    expect(gen.code, gen.output).toBe(0);
    const cmdToken = randomBytes(32).toString("base64url");
    const cmdHost = `${HOST}-cmd`;
    await db.pool.query("select ccm.op_enroll_agent($1, $2)", [cmdHost, createHash("sha256").update(cmdToken).digest("hex")]);
    const state = path.join(dir, "cmd-state");
    await mkdir(state);
    await writeFile(
      path.join(state, "agent.yaml"),
      stringify({
        host: cmdHost,
        poll_interval_ms: 1000,
        state_dir: state,
        trusted_command_keys: [await readFile(path.join(keys, "operator.pub"), "utf8")],
      }),
    );
    const cmdAgent = spawnCcm(["agent"], {
      CCM_AGENT_CONFIG: path.join(state, "agent.yaml"),
      DATABASE_URL: "",
      SUPABASE_URL: fake.url,
      SUPABASE_ANON_KEY: ANON_KEY,
      CCM_AGENT_TOKEN: cmdToken,
    });
    try {
      await waitFor("command agent offers `command`", async () => (await db.pool.query("select 1 from ccm.agents where host = $1 and 'command' = any (playbooks)", [cmdHost])).rowCount, 30_000).catch(
        withOutput(cmdAgent),
      );
      const argv = [process.execPath, "-e", "console.log('hi over supabase')"];
      const created = await runCcm(["broadcast", "command", "--hosts", cmdHost, "--key", path.join(keys, "operator.key"), "--by", "alice", "--", ...argv], {
        DATABASE_URL: "",
        SUPABASE_URL: fake.url,
        SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
      });
      expect(created.code, created.output).toBe(0);
      const id = created.stdout.trim();
      const done = await broadcastFinished(db.pool, id, 40_000, () => cmdAgent.output().slice(-4000));
      expect(done, cmdAgent.output().slice(-3000)).toMatchObject({ status: "completed" });
      const { rows } = await db.pool.query(
        `select r.status, s.exit_code, s.output_tail from ccm.tasks t join ccm.runs r on r.task_id = t.id
           left join ccm.run_steps s on s.run_id = r.id where t.broadcast_id = $1`,
        [id],
      );
      expect(rows[0]).toMatchObject({ status: "succeeded", exit_code: 0 });
      expect(rows[0].output_tail).toContain("hi over supabase");
      // The release was broadcast on the agent's private Realtime topic; the agent read the signed command with its token.
      const { rows: topic } = await db.pool.query("select wake_topic from ccm.agents where host = $1", [cmdHost]);
      expect(fake.delivered.map((d) => d.topic)).toContain(topic[0].wake_topic);
      expect(fake.requests.some((q) => q.path === "/rest/v1/rpc/agent_run_context" && q.headers.apikey === ANON_KEY)).toBe(true);
    } finally {
      cmdAgent.kill("SIGTERM");
      await cmdAgent.exited;
    }
  }, 120_000);

  it("PostgREST unreachable: a webhook is a 503 with Retry-After and /readyz fails; after it returns the retried delivery lands", async () => {
    await proxy.cut();
    try {
      const res = await post(alertmanager("sb-hub-outage", { alertname: "DuringOutage", host: HOST }));
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBeTruthy();
      expect((await fetch(`${hubUrl()}/readyz`)).status).toBe(503);
      const metrics = await (await fetch(`${hubUrl()}/metrics`)).text();
      expect(metrics).toMatch(/^ccm_hub_database_up 0$/m);
    } finally {
      await proxy.restore();
    }
    const res = await post(alertmanager("sb-hub-outage", { alertname: "DuringOutage", host: HOST }));
    expect(res.status).toBe(200);
    const { rows } = await db.pool.query("select count(*)::int as n from ccm.alerts where fingerprint = 'sb-hub-outage'");
    expect(rows[0].n).toBe(1);
    hub!.kill("SIGTERM");
    expect(await hub!.exited).toBe(0);
    agent!.kill("SIGTERM");
    expect(await agent!.exited).toBe(0);
  });
});
