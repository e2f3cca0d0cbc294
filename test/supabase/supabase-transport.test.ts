import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DatabaseUnavailableError,
  SupabaseCallError,
  createAgentTransport,
  ingestAlerts,
  type AgentTransport,
  type WakeupSubscription,
} from "@ccm/store";
import { waitFor } from "../support/db.ts";
import { startFakeSupabase, type FakeSupabase } from "./fake-supabase.ts";
import { createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";

const ANON_KEY = "anon-key-for-tests-0123456789";
const SERVICE_KEY = "service-key-for-tests-0123456789";
const token = randomBytes(32).toString("base64url");

let db: SupabaseTestDatabase;
let fake: FakeSupabase;
let transport: AgentTransport;
let subscription: WakeupSubscription | undefined;
let agentId = "";
const wakes: string[] = [];
const errors: unknown[] = [];
const claimed = new Set<string>();

async function fire(fp: string): Promise<string> {
  const [r] = await ingestAlerts(db.pool, "alertmanager", null, [
    { fingerprint: fp, status: "firing", labels: { alertname: `DiskFull-${fp}`, host: "sb-1" }, annotations: {}, startsAt: new Date().toISOString(), endsAt: null, generatorURL: null, raw: {} },
  ]);
  const { rows } = await db.pool.query<{ id: string }>("select id from ccm.runs where task_id = $1", [r!.task_id]);
  return rows[0]!.id;
}

async function runStatus(runId: string): Promise<string> {
  const { rows } = await db.pool.query<{ status: string }>("select status from ccm.runs where id = $1", [runId]);
  return rows[0]!.status;
}

beforeAll(async () => {
  db = await createSupabaseTestDatabase({ realtime: true });
  await db.pool.query("select ccm.op_enroll_agent('sb-1', $1)", [createHash("sha256").update(token).digest("hex")]);
  fake = await startFakeSupabase({ pool: db.pool, anonKey: ANON_KEY, serviceKey: SERVICE_KEY });
  transport = createAgentTransport({
    kind: "supabase",
    client: { url: fake.url, anonKey: ANON_KEY, reconnectAfterMs: () => 100 },
    token,
    realtime: "broadcast",
  });
});
afterAll(async () => {
  await subscription?.close();
  await transport?.close();
  await fake?.close();
  await db?.drop();
});

describe("supabase transport (supabase-js against a local PostgREST + Realtime stand-in)", () => {
  it("enrols through POST /rest/v1/rpc/agent_register with the anon key, the ccm profile and the token in the body", async () => {
    agentId = await transport.store.enroll({
      host: "sb-1",
      aliases: ["sb-1.example.com"],
      labels: { role: "web" },
      version: "test",
      playbooks: ["disk-full"],
      facts: { cpus: 2 },
    });
    expect(agentId).toMatch(/^[0-9a-f-]{36}$/);
    const req = fake.requests.find((r) => r.path === "/rest/v1/rpc/agent_register");
    expect(req).toBeDefined();
    expect(req!.method).toBe("POST");
    expect(req!.headers.apikey).toBe(ANON_KEY);
    expect(req!.headers.authorization).toBe(`Bearer ${ANON_KEY}`);
    expect(req!.headers["content-profile"]).toBe("ccm");
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(req!.body).toEqual({
      p_token: token,
      p_aliases: ["sb-1.example.com"],
      p_labels: { role: "web" },
      p_version: "test",
      p_playbooks: ["disk-full"],
      p_facts: { cpus: 2 },
    });
    const { rows } = await db.pool.query("select aliases, version from ccm.agents where id = $1", [agentId]);
    expect(rows[0]).toEqual({ aliases: ["sb-1.example.com"], version: "test" });
  });

  it("joins the agent's private topic and claims on SUBSCRIBED and on each broadcast", async () => {
    // The claim loop of an agent with no poll at all: only Realtime can make it claim.
    subscription = transport.subscribe(agentId, {
      onWake: (reason) => {
        wakes.push(reason);
        void transport.store.claimRuns(agentId, 5, 30).then((runs) => runs.forEach((r) => claimed.add(r.run_id)));
      },
      onError: (err) => errors.push(err),
    });
    await waitFor("first SUBSCRIBED", async () => wakes.includes("subscribed"));
    const { rows } = await db.pool.query<{ wake_topic: string }>("select wake_topic from ccm.agents where id = $1", [agentId]);
    const join = fake.joins[0]!;
    expect(join.topic).toBe(`realtime:${rows[0]!.wake_topic}`);
    expect(join.payload.config?.private).toBe(true);
    expect(join.payload.access_token).toBe(ANON_KEY);
    expect(join.url).toContain(`apikey=${ANON_KEY}`);
    expect(join.url).toContain("vsn=2.0.0");

    const runId = await fire(`fp-${randomBytes(4).toString("hex")}`);
    await waitFor("broadcast wake-up and claim", async () => claimed.has(runId));
    expect(wakes).toContain("notify");
    expect(fake.delivered.map((d) => d.topic)).toContain(rows[0]!.wake_topic);
    const claim = fake.requests.find((r) => r.path === "/rest/v1/rpc/agent_claim_runs");
    expect(claim!.body).toEqual({ p_token: token, p_limit: 5, p_lease_seconds: 30 });
    expect(claim!.headers["content-profile"]).toBe("ccm");
  });

  it("a task that arrives while Realtime is down is still claimed after the re-subscribe", async () => {
    const subscribedBefore = wakes.filter((w) => w === "subscribed").length;
    fake.dropRealtime();
    await waitFor("the client noticing the dropped socket", async () => errors.length > 0);
    const runId = await fire(`fp-${randomBytes(4).toString("hex")}`);
    await waitFor("the broadcast being lost", async () => fake.lost.length > 0);
    expect(await runStatus(runId)).toBe("queued");
    expect(claimed.has(runId)).toBe(false);

    fake.allowRealtime();
    await waitFor("re-subscribe", async () => wakes.filter((w) => w === "subscribed").length > subscribedBefore);
    await waitFor("the missed run claimed", async () => claimed.has(runId));
    expect(await runStatus(runId)).toBe("claimed");
  });

  it("works a run to the end through rpc: start, step, finish", async () => {
    const runId = [...claimed][0]!;
    const store = transport.store;
    expect(await store.startRun(runId, agentId, "disk-full", true, true)).toBe(true);
    expect(await store.renewLease(runId, agentId, 30)).toBe("running");
    const step = await store.recordStep(runId, agentId, "diagnose", "df", { path: "/var/log" });
    expect(step).toBeGreaterThan(0);
    await store.finishStep(step, agentId, { status: "ok", detail: "92% used", exitCode: 0, durationMs: 12.4 });
    expect(await store.finishRun(runId, agentId, "succeeded", "freed 1 GiB", { freedBytes: 1 })).toBe(true);
    expect(await runStatus(runId)).toBe("succeeded");
    const { rows } = await db.pool.query("select status, detail, duration_ms from ccm.run_steps where id = $1", [step]);
    expect(rows[0]).toEqual({ status: "ok", detail: "92% used", duration_ms: 12 });
    const finish = fake.requests.find((r) => r.path === "/rest/v1/rpc/agent_finish_run");
    expect(finish!.body).toEqual({
      p_token: token,
      p_run_id: runId,
      p_status: "succeeded",
      p_summary: "freed 1 GiB",
      p_result: { freedBytes: 1 },
      p_error: null,
    });
  });

  it("a revoked token is refused on the next call (403, SQLSTATE 28000)", async () => {
    await db.pool.query("select ccm.op_revoke_agent_token('sb-1')");
    const err = await transport.store.claimRuns(agentId, 1, 30).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SupabaseCallError);
    expect(err).toMatchObject({ code: "28000", status: 403 });
  });

  it("an unreachable API is a DatabaseUnavailableError (retry), not a crash", async () => {
    const dead = createAgentTransport({ kind: "supabase", client: { url: "http://127.0.0.1:1", anonKey: ANON_KEY }, token, realtime: "broadcast" });
    await expect(dead.store.heartbeat(agentId)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await dead.close();
  });
});
