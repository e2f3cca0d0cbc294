import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommandVerifier, generateOperatorKeyPair, keyIdOf, signCommand } from "@ccm/security";
import {
  BroadcastRejectedError,
  createCcmSupabaseClient,
  createCommandBroadcast,
  ingestAlerts,
  PgAgentStore,
  PgRemediationStore,
  supabaseDb,
  type Db,
} from "@ccm/store";
import { runCcm } from "../support/processes.ts";
import { startFakeSupabase, type FakeSupabase } from "./fake-supabase.ts";
import { asRole, createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";

// The operator CLI with SUPABASE_URL + the service-role key and no DATABASE_URL: real `ccm`
// processes against the local PostgREST stand-in. Every request must be an RPC call of a ccm
// function (POST /rest/v1/rpc/<fn>): the CLI never reads or writes a table directly.
// Fixtures (agents registering, an alert arriving, a run asking for approval) go straight to the
// database, as agents and the hub would; only the CLI goes through the fake.

const ANON_KEY = "anon-key-for-cli-tests-0123456789";
const SERVICE_KEY = "service-key-for-cli-tests-0123456789";

let sdb: SupabaseTestDatabase;
let fake: FakeSupabase;
const tmp = mkdtempSync(path.join(os.tmpdir(), "ccm-cli-sb-"));
let env: Record<string, string | undefined>;
const agents = new Map<string, string>(); // host -> agent id

const ccm = (args: string[], extra: Record<string, string | undefined> = {}) => runCcm(args, { ...env, ...extra });

/** Enrol a host through the CLI (supabase transport), then let "its agent" register with that token. */
async function enrolAndRegister(host: string, labels: Record<string, string>, playbooks: string[]): Promise<void> {
  const r = await ccm(["agent", "enroll", host, "--json", ...Object.entries(labels).map(([k, v]) => `--label=${k}=${v}`)]);
  expect(r.code, r.output).toBe(0);
  const { token, agentId } = JSON.parse(r.stdout) as { token: string; agentId: string };
  await new PgAgentStore(sdb.pool, { token }).enroll({ host, aliases: [], labels, version: "t", playbooks, facts: {} });
  agents.set(host, agentId);
}

beforeAll(async () => {
  sdb = await createSupabaseTestDatabase({ realtime: false });
  fake = await startFakeSupabase({ pool: sdb.pool, anonKey: ANON_KEY, serviceKey: SERVICE_KEY });
  // No DATABASE_URL at all: a fallback to the embedded Postgres would show up as a missing row.
  env = { SUPABASE_URL: fake.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY, DATABASE_URL: undefined, CCM_HOME: path.join(tmp, "home") };
  await Promise.all([
    enrolAndRegister("sb-web-1", { role: "web" }, ["collect-facts", "command", "service-down"]),
    enrolAndRegister("sb-web-2", { role: "web" }, ["collect-facts"]),
  ]);
}, 120_000);

afterAll(async () => {
  await fake?.close();
  await sdb?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("ccm over Supabase (PostgREST RPC with the service-role key, no DATABASE_URL)", () => {
  it("tasks list/show, alerts list/show and approve read and act through ccm.op_* functions", async () => {
    await ingestAlerts(sdb.pool, "alertmanager", null, [
      { fingerprint: randomBytes(6).toString("hex"), status: "firing", labels: { alertname: "ServiceDown", host: "sb-web-1", service: "web" }, annotations: {}, startsAt: new Date().toISOString(), endsAt: null, generatorURL: null, raw: { from: "test" } },
    ]);
    const agentId = agents.get("sb-web-1") as string;
    const store = new PgAgentStore(sdb.pool);
    const [run] = await store.claimRuns(agentId, 1, 30);
    expect(run).toBeDefined();
    await store.startRun(run!.run_id, agentId, "service-down", true, false);
    await new PgRemediationStore(sdb.pool).requestApproval(run!.run_id, agentId, "web is stopped", [{ action: "restart_service", target: "web" }], {});

    const list = await ccm(["tasks", "list", "--json", "--host", "SB-WEB-1"]);
    expect(list.code, list.output).toBe(0);
    const tasks = JSON.parse(list.stdout) as Array<{ id: string; status: string; alertname: string; created_at: string }>;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: "awaiting_approval", alertname: "ServiceDown" });
    expect(new Date(tasks[0]!.created_at).getTime()).toBeGreaterThan(Date.now() - 120_000);

    const show = await ccm(["tasks", "show", tasks[0]!.id.slice(0, 8)]);
    expect(show.code, show.output).toBe(0);
    expect(show.stdout).toContain(`task ${tasks[0]!.id}`);
    expect(show.stdout).toMatch(new RegExp(`run ${run!.run_id.slice(0, 8)}  attempt 1  awaiting_approval  on sb-web-1`));
    const missing = await ccm(["tasks", "show", "ffffffff"]);
    expect(missing.code).toBe(1);
    expect(missing.output).toContain("no task with id ffffffff");

    const alerts = await ccm(["alerts", "list", "--json"]);
    expect(alerts.code, alerts.output).toBe(0);
    const [alert] = JSON.parse(alerts.stdout) as Array<{ id: number; outcome: string; task_id: string }>;
    expect(alert).toMatchObject({ outcome: "created", task_id: tasks[0]!.id });
    const alertShow = await ccm(["alerts", "show", String(alert!.id)]);
    expect(alertShow.code, alertShow.output).toBe(0);
    expect(alertShow.stdout).toMatch(/alert \d+ +firing +from alertmanager/);
    expect(alertShow.stdout).toContain('"from": "test"');

    const approved = await ccm(["approve", run!.run_id.slice(0, 13), "--by", "alice", "--reason", "fine"]);
    expect(approved.code, approved.output).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^run ${run!.run_id} approved by alice; the agent resumes in run [0-9a-f-]{36}`));
    const late = await ccm(["reject", run!.run_id, "--by", "bob"]);
    expect(late.code).toBe(1);
    expect(late.output).toMatch(/was already approved by alice at .*; nothing changed/);
  }, 120_000);

  it("pause, status and resume flip the fleet switch", async () => {
    const keyFile = path.join(tmp, "service.key");
    writeFileSync(keyFile, `${SERVICE_KEY}\n`, { mode: 0o600 });
    const p = await ccm(["pause", "--by", "oncall", "--reason", "incident 7"], { SUPABASE_SERVICE_ROLE_KEY: undefined, SUPABASE_SERVICE_ROLE_KEY_FILE: keyFile });
    expect(p.code, p.output).toBe(0);
    expect(p.stdout).toMatch(/^fleet PAUSED by oncall at .* \(incident 7\)/);
    expect((await sdb.pool.query("select paused, changed_by from ccm.fleet_controls")).rows[0]).toEqual({ paused: true, changed_by: "oncall" });
    const status = await ccm(["pause", "--status", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({ paused: true, changed_by: "oncall", reason: "incident 7" });
    const r = await ccm(["resume", "--by", "oncall"]);
    expect(r.code, r.output).toBe(0);
    expect(r.stdout).toMatch(/^fleet active/);
    expect((await sdb.pool.query("select paused from ccm.fleet_controls")).rows[0].paused).toBe(false);
  }, 60_000);

  it("broadcast create, list, show, pause and cancel", async () => {
    const created = await ccm(["broadcast", "collect-facts", "--select", "role=web", "--canary", "1", "--batch", "1", "--by", "alice"]);
    expect(created.code, created.output).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const shown = await ccm(["broadcast", "show", id.slice(0, 8), "--json"]);
    expect(shown.code, shown.output).toBe(0);
    const b = JSON.parse(shown.stdout) as { targeted: number; states: Record<string, number>; hosts: Array<{ host: string; state: string; wave: number }> };
    expect(b.targeted).toBe(2);
    expect(b.states).toEqual({ queued: 1, held: 1 });
    expect(b.hosts.map((h) => [h.host, h.state, h.wave])).toEqual([
      ["sb-web-1", "queued", 0],
      ["sb-web-2", "held", 1],
    ]);

    const listed = await ccm(["broadcast", "list", "--json"]);
    expect((JSON.parse(listed.stdout) as Array<{ id: string; created_by: string }>).find((x) => x.id === id)).toMatchObject({ created_by: "alice" });

    const paused = await ccm(["broadcast", "pause", id.slice(0, 8), "--by", "alice"]);
    expect(paused.code, paused.output).toBe(0);
    expect(paused.stdout).toContain("paused");
    const again = await ccm(["broadcast", "pause", id, "--by", "alice"]);
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/^ccm: broadcast [0-9a-f-]+ is paused, not running/m);
    const cancelled = await ccm(["broadcast", "cancel", id, "--by", "bob"]);
    expect(cancelled.code, cancelled.output).toBe(0);
    expect((await sdb.pool.query("select status from ccm.broadcasts where id = $1", [id])).rows[0].status).toBe("cancelled");

    const nothing = await ccm(["broadcast", "collect-facts", "--select", "role=cache"]);
    expect(nothing.code).toBe(1);
    expect(nothing.output).toMatch(/^ccm: selector matches no enrolled agent/m);
  }, 120_000);

  it("a signed command broadcast: every released task carries a signature an agent trusting the key accepts", async () => {
    const keys = path.join(tmp, "keys");
    const k = await runCcm(["keys", "generate", "--out-dir", keys, "--name", "op"], {});
    expect(k.code, k.output).toBe(0);
    const created = await ccm(["broadcast", "command", "--select", "role=web", "--key", path.join(keys, "op.key"), "--expires", "10m", "--by", "alice", "--json", "--", "uptime"]);
    expect(created.code, created.output).toBe(0);
    const row = JSON.parse(created.stdout) as { id: string; signed: number; targeted: number };
    expect(row).toMatchObject({ signed: 1, targeted: 2 });

    const { rows } = await sdb.pool.query(
      "select t.id, t.host, t.status, t.command, r.status as run_status from ccm.tasks t join ccm.runs r on r.task_id = t.id where t.broadcast_id = $1 order by t.host",
      [row.id],
    );
    expect(rows.map((r) => [r.host, r.status, r.run_status])).toEqual([
      ["sb-web-1", "queued", "queued"],
      ["sb-web-2", "skipped", "skipped"],
    ]);
    const [signed, skipped] = rows;
    // What the agent checks (apps/agent command gate): its own task id and host, then the signature.
    expect(signed.command).toMatchObject({ taskId: signed.id, target: "sb-web-1", argv: ["uptime"] });
    const verifier = createCommandVerifier({ trustedKeys: [readFileSync(path.join(keys, "op.pub"), "utf8")], stateDir: path.join(tmp, "verifier") });
    expect(verifier.verify(signed.command)).toMatchObject({ ok: true });
    expect(skipped.command).toBeNull();
  }, 60_000);

  it("ccm db migrate and ccm up refuse, and a missing or wrong service key fails clearly", async () => {
    const migrate = await ccm(["db", "migrate"]);
    expect(migrate.code).toBe(1);
    expect(migrate.output).toContain("migrations on Supabase are applied with `supabase db push` (or set DATABASE_URL to the project's direct connection string)");
    const up = await ccm(["up"]);
    expect(up.code).toBe(1);
    expect(up.output).toContain("SUPABASE_URL: `ccm up` is the one-machine demo on Postgres");

    const before = fake.requests.length;
    const wrong = await ccm(["tasks", "list"], { SUPABASE_SERVICE_ROLE_KEY: "not-the-service-key-0123456789" });
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/^ccm: .* refused SUPABASE_SERVICE_ROLE_KEY \(invalid api key\)/m);
    expect(fake.requests.length).toBeGreaterThan(before); // it did ask, and was turned away

    const none = await ccm(["alerts", "list"], { SUPABASE_SERVICE_ROLE_KEY: undefined });
    expect(none.code).toBe(1);
    expect(none.output).toContain("ccm: SUPABASE_SERVICE_ROLE_KEY is required with SUPABASE_URL");
  }, 60_000);

  it("the database refuses signed tasks that no longer match the selector, or were signed for another host", async () => {
    const operator = generateOperatorKeyPair();
    const base = supabaseDb(createCcmSupabaseClient({ url: fake.url, key: SERVICE_KEY }));
    const expiresAt = new Date(Date.now() + 600_000);
    const command = { argv: ["uptime"], expires_at: expiresAt.toISOString(), key_id: keyIdOf(operator.privateKeyPem) };
    const sign = (t: { task_id: string; host: string }) => signCommand({ taskId: t.task_id, argv: ["uptime"], target: t.host, expiresAt }, operator.privateKeyPem);
    // A host that starts offering `command` between the preview and the creating call.
    const racing = (host: string): Db => {
      let joined = false;
      return {
        ...base,
        async call<T>(fn: string, args?: Record<string, unknown>): Promise<T> {
          const out = await base.call<T>(fn, args);
          if (fn === "op_command_targets" && !joined) {
            joined = true;
            await new PgAgentStore(sdb.pool).enroll({ host, aliases: [], labels: { role: "web" }, version: "t", playbooks: ["command"], facts: {} });
          }
          return out;
        },
      };
    };
    const spec = { selector: { labels: { role: "web" } }, created_by: "alice" };
    const refused = createCommandBroadcast(racing("sb-web-3"), spec, command, sign, { attempts: 1 });
    await expect(refused).rejects.toBeInstanceOf(BroadcastRejectedError);
    await expect(refused).rejects.toThrow(/^the hosts matching the selector changed while the command was being signed; now matched, not signed: sb-web-3/);
    expect((await sdb.pool.query("select count(*)::int as n from ccm.broadcasts where playbook = 'command'")).rows[0].n).toBe(1);

    // By default it signs afresh and then covers the newcomer too.
    const row = await createCommandBroadcast(racing("sb-web-4"), spec, command, sign);
    expect(row.signed).toBe(3);
    const { rows } = await sdb.pool.query("select host from ccm.tasks where broadcast_id = $1 and command is not null order by host", [row.id]);
    expect(rows.map((r) => r.host)).toEqual(["sb-web-1", "sb-web-3", "sb-web-4"]);

    // A task signed for one host cannot be handed in for another.
    const targets = await base.call<Array<{ agent_id: string; host: string; offers: boolean }>>("op_command_targets", { p_selector: { hosts: ["sb-web-1"] } });
    const taskId = randomUUID();
    const forged = [{ agent_id: targets[0]!.agent_id, host: "sb-web-1", task_id: taskId, command: sign({ task_id: taskId, host: "sb-web-3" }) }];
    await expect(
      base.call("op_create_command_broadcast", { p_selector: { hosts: ["sb-web-1"] }, p_created_by: "mallory", p_command: command, p_tasks: forged }),
    ).rejects.toMatchObject({ code: "22023", message: expect.stringMatching(/signed task for sb-web-1 does not match/) });
  }, 60_000);

  it("the operator functions answer operators only: not anon, not a signed-in stranger", async () => {
    const operator = { role: "authenticated", sub: randomUUID() };
    await sdb.pool.query("insert into ccm.operators (user_id, note) values ($1, 'test')", [operator.sub]);
    const rows = await asRole(sdb.pool, "authenticated", operator, "select * from ccm.op_list_tasks(p_limit => 5)");
    expect(rows.length).toBeGreaterThan(0);
    const stranger = { role: "authenticated", sub: randomUUID() };
    await expect(asRole(sdb.pool, "authenticated", stranger, "select * from ccm.op_list_tasks()")).rejects.toMatchObject({ code: "42501", message: "operator role required" });
    await expect(asRole(sdb.pool, "anon", { role: "anon" }, "select ccm.op_fleet_pause()")).rejects.toMatchObject({ code: "42501" });
    await expect(asRole(sdb.pool, "service_role", { role: "service_role" }, "select * from ccm.signed_command_staging")).resolves.toEqual([]);
    await expect(asRole(sdb.pool, "authenticated", operator, "select * from ccm.signed_command_staging")).rejects.toMatchObject({ code: "42501" });
  });

  it("every request was an RPC call of a ccm function: no table access", () => {
    expect(fake.requests.length).toBeGreaterThan(15);
    const offending = fake.requests.filter((r) => r.method !== "POST" || !/^\/rest\/v1\/rpc\/[a-z_]+$/.test(r.path));
    expect(offending.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    const fns = new Set(fake.requests.map((r) => r.path.replace("/rest/v1/rpc/", "")));
    for (const fn of [
      "op_enroll_agent",
      "op_list_tasks",
      "op_task_detail",
      "op_list_alerts",
      "op_alert_detail",
      "op_resolve_run_id",
      "op_decide_approval",
      "op_set_fleet_pause",
      "op_fleet_pause",
      "op_create_broadcast",
      "op_broadcast_detail",
      "op_list_broadcasts",
      "op_control_broadcast",
      "op_command_targets",
      "op_create_command_broadcast",
    ]) {
      expect(fns, fn).toContain(fn);
    }
    expect([...fns].filter((fn) => !fn.startsWith("op_"))).toEqual([]);
  });
});
