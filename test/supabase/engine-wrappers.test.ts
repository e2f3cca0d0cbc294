import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestAlerts } from "@ccm/store";
import { asRole, createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";

// The playbook engine's agent-side calls, made the way PostgREST makes them for an agent that
// holds only the anon key and its own token.

const ANON = { role: "anon" };
const newToken = () => randomBytes(32).toString("base64url");
const hash = (t: string) => createHash("sha256").update(t).digest("hex");

let db: SupabaseTestDatabase;
const tokens = { a: newToken(), b: newToken() };

async function anonV<T>(sql: string, params: unknown[] = []): Promise<T> {
  const [row] = await asRole<{ v: T }>(db.pool, "anon", ANON, sql, params);
  return row?.v as T;
}

async function runningRunOf(host: string, token: string, fp: string): Promise<string> {
  await ingestAlerts(db.pool, "alertmanager", null, [
    { fingerprint: fp, status: "firing", labels: { alertname: `Eng-${fp}`, host }, annotations: {}, startsAt: null, endsAt: null, generatorURL: null, raw: {} },
  ]);
  const [claimed] = await asRole<{ run_id: string }>(db.pool, "anon", ANON, "select run_id from ccm.agent_claim_runs($1, 1, 30)", [token]);
  await anonV("select ccm.agent_start_run($1, $2, 'disk-full', true, false) as v", [token, claimed!.run_id]);
  return claimed!.run_id;
}

beforeAll(async () => {
  db = await createSupabaseTestDatabase({ realtime: false });
  await asRole(db.pool, "service_role", { role: "service_role" }, "select ccm.op_enroll_agent($1, $2)", ["eng-a", hash(tokens.a)]);
  await asRole(db.pool, "service_role", { role: "service_role" }, "select ccm.op_enroll_agent($1, $2)", ["eng-b", hash(tokens.b)]);
});
afterAll(async () => {
  await db?.drop();
});

describe("engine wrappers (ccm.agent_* for confidence, approvals, safety rails)", () => {
  it("an agent runs the whole engine sequence on its own run with only anon + its token", async () => {
    const run = await runningRunOf("eng-a", tokens.a, "e1");
    expect(await anonV("select ccm.agent_run_context($1, $2) as v", [tokens.a, run])).toMatchObject({ approval: null });
    const [record] = await asRole<{ successes: number; failures: number }>(
      db.pool, "anon", ANON, "select * from ccm.agent_track_record($1, 'disk-full', 'Eng-e1', 'default')", [tokens.a],
    );
    expect(record).toEqual({ successes: 0, failures: 0 });
    expect(await anonV("select ccm.agent_save_confidence($1, $2, $3, $4, 'default') as v", [tokens.a, run, JSON.stringify({ score: 0.95, band: "auto" }), "[]"])).toBe(true);
    expect(await anonV("select ccm.agent_remediation_gate($1) as v", [tokens.a])).toBeNull();
    expect(await anonV("select ccm.agent_begin_remediation($1, $2, false, true) as v", [tokens.a, run])).toMatchObject({ ok: true });
    expect(await anonV("select ccm.agent_finish_run($1, $2, 'succeeded', 'ok', '{}') as v", [tokens.a, run])).toBe(true);
    expect(await anonV("select ccm.agent_record_outcome($1, $2, true) as v", [tokens.a, run])).toBe(true);
  });

  it("agent B's token cannot read, score, gate, approve or skip agent A's run", async () => {
    const run = await runningRunOf("eng-a", tokens.a, "e2");
    expect(await anonV("select ccm.agent_run_context($1, $2) as v", [tokens.b, run])).toBeNull();
    expect(await anonV("select ccm.agent_save_confidence($1, $2, $3) as v", [tokens.b, run, JSON.stringify({ score: 1 })])).toBe(false);
    expect(await anonV("select ccm.agent_request_approval($1, $2, 'x', $3) as v", [tokens.b, run, JSON.stringify([{ action: "remove_files", target: "/var/log" }])])).toBe(false);
    expect(await anonV("select ccm.agent_skip_run($1, $2, 'x') as v", [tokens.b, run])).toBe(false);
    expect(await anonV("select ccm.agent_record_outcome($1, $2, true) as v", [tokens.b, run])).toBe(false);
    await expect(anonV("select ccm.agent_begin_remediation($1, $2, false, true) as v", [tokens.b, run])).rejects.toThrow();
    const { rows } = await db.pool.query("select status, confidence from ccm.runs where id = $1", [run]);
    expect(rows[0]).toEqual({ status: "running", confidence: null });
  });

  it("an unknown or revoked token is refused (28000) by every wrapper", async () => {
    const bad = newToken();
    await expect(anonV("select ccm.agent_remediation_gate($1) as v", [bad])).rejects.toMatchObject({ code: "28000" });
    await expect(
      asRole(db.pool, "anon", ANON, "select * from ccm.agent_track_record($1, 'disk-full', 'x', 'default')", [bad]),
    ).rejects.toMatchObject({ code: "28000" });
  });
});
