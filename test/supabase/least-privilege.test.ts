import { createHash, randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentChannel, ingestAlerts } from "@ccm/store";
import { asRole, createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

const ANON = { role: "anon" };
const SERVICE = { role: "service_role" };

const newToken = () => randomBytes(32).toString("base64url");
const hash = (t: string) => createHash("sha256").update(t).digest("hex");

let db: SupabaseTestDatabase;
const tokens = { a: newToken(), b: newToken() };
let agentA = "";
let agentB = "";

async function anon<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return asRole<T>(db.pool, "anon", ANON, sql, params);
}

async function anonV<T>(sql: string, params: unknown[] = []): Promise<T> {
  const [row] = await anon<{ v: T }>(sql, params);
  return row?.v as T;
}

async function serviceV<T>(sql: string, params: unknown[] = []): Promise<T> {
  const [row] = await asRole<{ v: T }>(db.pool, "service_role", SERVICE, sql, params);
  return row?.v as T;
}

async function fire(host: string, fp: string): Promise<string> {
  const [r] = await ingestAlerts(db.pool, "alertmanager", null, [
    {
      fingerprint: fp,
      status: "firing",
      labels: { alertname: `DiskFull-${fp}`, host },
      annotations: {},
      startsAt: new Date().toISOString(),
      endsAt: null,
      generatorURL: null,
      raw: {},
    },
  ]);
  return r!.task_id!;
}

async function runOf(taskId: string): Promise<{ id: string; status: string; agent_id: string }> {
  const { rows } = await db.pool.query("select id, status, agent_id from ccm.runs where task_id = $1 order by attempt desc limit 1", [taskId]);
  return rows[0];
}

beforeAll(async () => {
  db = await createSupabaseTestDatabase({ realtime: true });
  // The operator (service role, as the CLI with the service key) enrols two hosts.
  agentA = await serviceV<string>("select ccm.op_enroll_agent($1, $2) as v", ["host-a", hash(tokens.a)]);
  agentB = await serviceV<string>("select ccm.op_enroll_agent($1, $2) as v", ["host-b", hash(tokens.b)]);
});
afterAll(async () => {
  await db?.drop();
});

describe("anon (what an agent's anon key reaches through PostgREST)", () => {
  it("cannot read or write any ccm table", async () => {
    for (const table of ["agents", "tasks", "runs", "run_steps", "alerts", "operators"]) {
      await expect(anon(`select * from ccm.${table}`), table).rejects.toMatchObject({ code: "42501" });
    }
    await expect(anon("insert into ccm.operators (user_id) values ($1)", [randomUUID()])).rejects.toMatchObject({ code: "42501" });
    await expect(anon("update ccm.runs set status = 'queued'")).rejects.toMatchObject({ code: "42501" });
  });

  it("cannot call the internal functions, the hub's functions or the operator functions", async () => {
    await expect(anon("select * from ccm.claim_runs($1, 10, 30)", [agentB])).rejects.toMatchObject({ code: "42501" });
    await expect(anon("select ccm.finish_run($1, $2, 'succeeded')", [randomUUID(), agentB])).rejects.toMatchObject({ code: "42501" });
    await expect(anon("select * from ccm.recover_expired_leases(3)")).rejects.toMatchObject({ code: "42501" });
    await expect(anon("select * from ccm.ingest_alerts('x', null, '[]')")).rejects.toMatchObject({ code: "42501" });
    await expect(anon("select ccm.op_enroll_agent('evil', $1)", [hash(newToken())])).rejects.toMatchObject({ code: "42501" });
    await expect(anon("select ccm.op_revoke_agent_token('host-b')")).rejects.toMatchObject({ code: "42501" });
  });

  it("invariants over the whole schema: RLS on every table, no table privilege for anon/authenticated, anon runs only token-taking agent_* functions, authenticated only operator-checked op_*, every definer function pins search_path", async () => {
    const { rows: tables } = await db.pool.query<{ name: string; rls: boolean; anon: boolean; authenticated: boolean }>(
      `select c.relname as name, c.relrowsecurity as rls,
              has_table_privilege('anon', c.oid, 'select,insert,update,delete') as anon,
              has_table_privilege('authenticated', c.oid, 'select,insert,update,delete') as authenticated
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'ccm' and c.relkind in ('r', 'p')`,
    );
    expect(tables.length).toBeGreaterThan(10);
    expect(tables.filter((t) => !t.rls).map((t) => t.name)).toEqual([]);
    expect(tables.filter((t) => t.anon || t.authenticated).map((t) => t.name)).toEqual([]);

    const { rows: fns } = await db.pool.query<{ name: string; args: string; anon: boolean; authenticated: boolean; definer: boolean; config: string[] | null; src: string; first_arg: string | null }>(
      `select p.proname as name, pg_get_function_identity_arguments(p.oid) as args,
              has_function_privilege('anon', p.oid, 'execute') as anon,
              has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
              p.prosecdef as definer, p.proconfig as config, p.prosrc as src, p.proargnames[1] as first_arg
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'ccm' and p.proname <> 'created_later'`,
    );
    const anonFns = fns.filter((f) => f.anon);
    expect(anonFns.length).toBeGreaterThan(10);
    // Every function anon may call resolves the agent from its token first.
    expect(anonFns.filter((f) => !(f.name.startsWith("agent_") && f.first_arg === "p_token")).map((f) => `${f.name}(${f.args})`)).toEqual([]);
    // Every function a signed-in user may call is an operator function that checks ccm.operators.
    expect(fns.filter((f) => f.authenticated && !(f.name.startsWith("op_") && f.src.includes("ccm.assert_operator()"))).map((f) => `${f.name}(${f.args})`)).toEqual([]);
    expect(fns.filter((f) => f.definer && !(f.config ?? []).includes("search_path=\"\"")).map((f) => f.name)).toEqual([]);
  });

  it("a function a later migration creates is not executable by PUBLIC or anon", async () => {
    await db.pool.query("create function ccm.created_later() returns int language sql set search_path = '' as 'select 1'");
    const { rows } = await db.pool.query(
      "select has_function_privilege('anon', 'ccm.created_later()', 'execute') as anon_can, " +
        "exists (select 1 from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) x " +
        "where p.oid = 'ccm.created_later()'::regprocedure and x.grantee = 0) as public_can",
    );
    expect(rows[0]).toEqual({ anon_can: false, public_can: false });
    await expect(anon("select ccm.created_later()")).rejects.toMatchObject({ code: "42501" });
  });
});

describe("agent tokens", () => {
  it("register returns the agent's own id and private wake topic; a bad token is refused with 28000", async () => {
    const [me] = await anon<{ agent_id: string; host: string; wake_topic: string }>(
      "select * from ccm.agent_register($1, $2, $3, 'test', $4, '{}')",
      [tokens.a, ["host-a.example.com"], { role: "web" }, ["disk-full"]],
    );
    expect(me).toMatchObject({ agent_id: agentA, host: "host-a" });
    expect(me!.wake_topic).toMatch(/^ccm-wake-[0-9a-f]{32}$/);
    await expect(anon("select * from ccm.agent_register($1)", [newToken()])).rejects.toMatchObject({ code: "28000" });
    await expect(anon("select * from ccm.agent_claim_runs($1, 1, 30)", [""])).rejects.toMatchObject({ code: "28000" });
  });

  it("an agent cannot take another agent's host name as an alias", async () => {
    await expect(anon("select * from ccm.agent_register($1, $2)", [tokens.a, ["host-b"]])).rejects.toMatchObject({
      code: "42501",
      message: "alias host-b belongs to another agent",
    });
  });

  it("agent A cannot claim, renew, start, step, finish or release agent B's runs", async () => {
    const taskB = await fire("host-b", `fp-b-${randomUUID()}`);
    const runB = await runOf(taskB);
    expect(runB.agent_id).toBe(agentB);

    const claimedByA = await anon<{ run_id: string }>("select * from ccm.agent_claim_runs($1, 100, 30)", [tokens.a]);
    expect(claimedByA.map((r) => r.run_id)).not.toContain(runB.id);
    expect((await runOf(taskB)).status).toBe("queued");

    // B claims and starts its run; then A tries every write on it.
    const claimedByB = await anon<{ run_id: string }>("select * from ccm.agent_claim_runs($1, 100, 30)", [tokens.b]);
    expect(claimedByB.map((r) => r.run_id)).toContain(runB.id);
    const started = await anonV<boolean>("select ccm.agent_start_run($1, $2, 'disk-full', true, true) as v", [tokens.b, runB.id]);
    expect(started).toBe(true);

    const renew = await anonV<string>("select ccm.agent_renew_lease($1, $2, 30) as v", [tokens.a, runB.id]);
    expect(renew).toBe("not_found"); // not even its status leaks
    const startA = await anonV<boolean>("select ccm.agent_start_run($1, $2, 'x', true, false) as v", [tokens.a, runB.id]);
    expect(startA).toBe(false);
    await expect(anon("select ccm.agent_record_step($1, $2, 'remediate', 'rm', '{}') as v", [tokens.a, runB.id])).rejects.toMatchObject({
      code: "P0002",
    });
    const stepB = await anonV<string>("select ccm.agent_record_step($1, $2, 'diagnose', 'df', '{}') as v", [tokens.b, runB.id]);
    const finishStepA = await anonV<boolean>("select ccm.agent_finish_step($1, $2, 'ok') as v", [tokens.a, stepB]);
    expect(finishStepA).toBe(false);
    const finishA = await anonV<boolean>("select ccm.agent_finish_run($1, $2, 'succeeded', 'pwned') as v", [tokens.a, runB.id]);
    expect(finishA).toBe(false);
    const releaseA = await anonV<string>("select ccm.agent_release_run($1, $2, 'x') as v", [tokens.a, runB.id]);
    expect(releaseA).toBe("ignored");
    expect((await runOf(taskB)).status).toBe("running");

    const finishB = await anonV<boolean>("select ccm.agent_finish_run($1, $2, 'succeeded', 'done') as v", [tokens.b, runB.id]);
    expect(finishB).toBe(true);
  });

  it("a revoked token fails on its very next call; a rotated one replaces the old at once", async () => {
    const t = newToken();
    await asRole(db.pool, "service_role", SERVICE, "select ccm.op_enroll_agent('host-c', $1)", [hash(t)]);
    await anon("select * from ccm.agent_claim_runs($1, 1, 30)", [t]);

    const revoked = await serviceV<boolean>("select ccm.op_revoke_agent_token('host-c') as v");
    expect(revoked).toBe(true);
    await expect(anon("select * from ccm.agent_claim_runs($1, 1, 30)", [t])).rejects.toMatchObject({ code: "28000" });
    await expect(anon("select ccm.agent_heartbeat($1)", [t])).rejects.toMatchObject({ code: "28000" });

    const t2 = newToken();
    await asRole(db.pool, "service_role", SERVICE, "select ccm.op_rotate_agent_token('host-c', $1)", [hash(t2)]);
    await anon("select ccm.agent_heartbeat($1)", [t2]);
    const t3 = newToken();
    await asRole(db.pool, "service_role", SERVICE, "select ccm.op_rotate_agent_token('host-c', $1)", [hash(t3)]);
    await expect(anon("select ccm.agent_heartbeat($1)", [t2])).rejects.toMatchObject({ code: "28000" });
    await anon("select ccm.agent_heartbeat($1)", [t3]);
  });

  it("enrolling a host that already holds a token is refused (rotate instead)", async () => {
    await expect(
      asRole(db.pool, "service_role", SERVICE, "select ccm.op_enroll_agent('host-a', $1)", [hash(newToken())]),
    ).rejects.toMatchObject({ code: "23505" });
  });
});

describe("operators (authenticated users)", () => {
  it("only users listed in ccm.operators may enrol, rotate or revoke", async () => {
    const stranger = { role: "authenticated", sub: randomUUID() };
    const operator = { role: "authenticated", sub: randomUUID() };
    await db.pool.query("insert into ccm.operators (user_id, note) values ($1, 'test')", [operator.sub]);

    await expect(
      asRole(db.pool, "authenticated", stranger, "select ccm.op_enroll_agent('host-x', $1)", [hash(newToken())]),
    ).rejects.toMatchObject({ code: "42501", message: "operator role required" });
    await expect(asRole(db.pool, "authenticated", stranger, "select ccm.op_revoke_agent_token('host-a')")).rejects.toMatchObject({
      code: "42501",
    });
    const [row] = await asRole<{ v: string }>(db.pool, "authenticated", operator, "select ccm.op_enroll_agent('host-x', $1) as v", [hash(newToken())]);
    const v = row?.v;
    expect(v).toMatch(/^[0-9a-f-]{36}$/);
    // An operator still cannot read tables directly, nor use an agent's functions without its token.
    await expect(asRole(db.pool, "authenticated", operator, "select * from ccm.runs")).rejects.toMatchObject({ code: "42501" });
    await expect(asRole(db.pool, "authenticated", operator, "select * from ccm.agent_claim_runs($1, 1, 30)", [tokens.a])).rejects.toMatchObject({
      code: "42501",
    });
  });
});

describe("Realtime wake-up trigger", () => {
  it("calls realtime.send(payload, 'run_queued', <agent's private topic>, true) for each claimable run", async () => {
    const taskA = await fire("host-a", `fp-a-${randomUUID()}`);
    const run = await runOf(taskA);
    const { rows: topic } = await db.pool.query("select wake_topic from ccm.agents where id = $1", [agentA]);
    const { rows } = await db.pool.query("select payload, event, topic, private from realtime.sent where payload ->> 'run_id' = $1", [run.id]);
    expect(rows).toEqual([{ payload: { run_id: run.id }, event: "run_queued", topic: topic[0].wake_topic, private: true }]);
  });

  it("creates the realtime.messages policy that lets anon receive only ccm wake-up topics", async () => {
    const { rows } = await db.pool.query(
      "select roles::text[] as roles, cmd from pg_policies where schemaname = 'realtime' and tablename = 'messages' and policyname = 'ccm_agents_receive_wakeups'",
    );
    expect(rows).toEqual([{ roles: ["anon"], cmd: "SELECT" }]);
  });
});

describe("without Supabase (plain Postgres, no realtime schema, no API roles needed)", () => {
  let plain: TestDatabase;
  beforeAll(async () => {
    plain = await createTestDatabase();
  });
  afterAll(async () => {
    await plain?.drop();
  });

  it("the same migrations apply and a queued run still only NOTIFYs", async () => {
    const { rows: me } = await plain.pool.query<{ id: string }>("select ccm.enroll_agent('plain-1') as id");
    const channel = agentChannel(me[0]!.id);
    const listener = await plain.pool.connect();
    try {
      await listener.query(`listen ${channel}`);
      const notified = new Promise<{ channel: string }>((resolve) => listener.once("notification", resolve));
      const [r] = await ingestAlerts(plain.pool, "alertmanager", null, [
        { fingerprint: "p1", status: "firing", labels: { alertname: "X", host: "plain-1" }, annotations: {}, startsAt: new Date().toISOString(), endsAt: null, generatorURL: null, raw: {} },
      ]);
      expect(r?.outcome).toBe("created");
      // The wake-up arrives on the agent's channel, and no realtime.send was attempted (no such schema).
      await expect(notified).resolves.toMatchObject({ channel });
      const { rows } = await plain.pool.query("select to_regnamespace('realtime') as ns");
      expect(rows[0].ns).toBeNull();
    } finally {
      listener.release(true);
    }
  });
});
