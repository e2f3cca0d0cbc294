import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestAlerts } from "@ccm/store";
import { waitFor } from "../support/db.ts";
import { runCcm, spawnCcm, type CcmProcess } from "../support/processes.ts";
import { startFakeSupabase, type FakeSupabase } from "./fake-supabase.ts";
import { diskFullAgentFixture } from "./disk-full-agent.ts";
import { createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";

// A real `ccm agent` process on the supabase transport (anon key + its token, no database URL)
// runs disk-full through the playbook engine: every call is a PostgREST RPC to a ccm.agent_*
// function, executed on real Postgres as `anon` by the local stand-in.

const ANON_KEY = "anon-key-for-tests-0123456789";
const token = randomBytes(32).toString("base64url");
const HOST = `sb-agent-${process.pid}`;
let db: SupabaseTestDatabase;
let fake: FakeSupabase;
let dir: string;
let agent: CcmProcess | undefined;

beforeAll(async () => {
  db = await createSupabaseTestDatabase({ realtime: true });
  await db.pool.query("select ccm.op_enroll_agent($1, $2)", [HOST, createHash("sha256").update(token).digest("hex")]);
  fake = await startFakeSupabase({ pool: db.pool, anonKey: ANON_KEY, serviceKey: "service-key-for-tests-0123456789" });
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-sb-agent-"));
});
afterAll(async () => {
  agent?.kill("SIGKILL");
  await fake?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("agent on the supabase transport", () => {
  it("claims, scores, remediates and reports a disk-full run with only the anon key and its token", async () => {
    const { logs, config } = await diskFullAgentFixture(dir, HOST);
    agent = spawnCcm(["agent"], {
      CCM_AGENT_CONFIG: config,
      DATABASE_URL: "",
      SUPABASE_URL: fake.url,
      SUPABASE_ANON_KEY: ANON_KEY,
      CCM_AGENT_TOKEN: token,
    });
    await waitFor("agent registered", async () => (await db.pool.query("select 1 from ccm.agents where host = $1 and version is not null", [HOST])).rowCount, 30_000).catch(
      (err) => {
        throw new Error(`${err}\n${agent?.output()}`);
      },
    );

    const [r] = await ingestAlerts(db.pool, "alertmanager", null, [
      { fingerprint: "sb-disk", status: "firing", labels: { alertname: "NodeFilesystemAlmostOutOfSpace", host: HOST, mountpoint: dir }, annotations: {}, startsAt: null, endsAt: null, generatorURL: null, raw: {} },
    ]);
    const status = await waitFor("run finished", async () => {
      const { rows } = await db.pool.query("select status, summary, confidence from ccm.runs where task_id = $1", [r?.task_id]);
      return rows[0] && !["queued", "claimed", "running"].includes(rows[0].status) ? rows[0] : undefined;
    }, 30_000).catch((err) => {
      throw new Error(`${err}\n${agent?.output()}`);
    });
    expect(status.status, `${status.summary}\n${agent.output().slice(-4000)}`).toBe("succeeded");
    expect(status.confidence).toMatchObject({ band: expect.any(String) });
    expect(existsSync(path.join(logs, "app.log.1"))).toBe(false);
    expect(existsSync(path.join(logs, "app.log"))).toBe(true);
    // Everything went through PostgREST RPCs to ccm.agent_* functions.
    const fns = new Set(fake.requests.filter((q) => q.path.startsWith("/rest/v1/rpc/")).map((q) => q.path.slice("/rest/v1/rpc/".length)));
    expect([...fns].every((f) => f.startsWith("agent_"))).toBe(true);
    expect(fns).toContain("agent_begin_remediation");
    agent.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
  });

  it("`ccm agent check` verifies the token over Supabase with the anon key (ccm.agent_whoami, no side effect)", async () => {
    const { config } = await diskFullAgentFixture(await mkdtemp(path.join(dir, "check-")), HOST);
    const check = async (agentToken: string) => {
      const r = await runCcm(["agent", "check", "--json"], {
        CCM_AGENT_CONFIG: config,
        DATABASE_URL: "",
        SUPABASE_URL: fake.url,
        SUPABASE_ANON_KEY: ANON_KEY,
        CCM_AGENT_TOKEN: agentToken,
      });
      const report = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; detail: string }> };
      return report.checks.find((c) => c.id === "token");
    };
    const before = await db.pool.query("select last_seen from ccm.agents where host = $1", [HOST]);
    expect(await check(token)).toMatchObject({ status: "pass", detail: `accepted for host ${HOST}` });
    expect((await db.pool.query("select last_seen from ccm.agents where host = $1", [HOST])).rows).toEqual(before.rows);
    expect(fake.requests.some((q) => q.path === "/rest/v1/rpc/agent_whoami" && q.headers.apikey === ANON_KEY)).toBe(true);
    expect(await check(randomBytes(32).toString("base64url"))).toMatchObject({ status: "fail", detail: expect.stringContaining("rejected") });
  });
});
