import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgAgentStore, createPool, type Pool } from "@ccm/store";
import { createCommandVerifier, signCommand } from "@ccm/security";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { runCcm } from "../support/processes.ts";
import { createSupabaseTestDatabase, type SupabaseTestDatabase } from "./supabase-db.ts";

let db: TestDatabase;
const tmp = mkdtempSync(path.join(os.tmpdir(), "ccm-cli-tokens-"));
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

const claim = (token: string) => new PgAgentStore(db.pool, { token }).claimRuns("ignored", 1, 30);

describe("ccm agent enroll | rotate | revoke (real CLI processes, postgres transport)", () => {
  it("enroll shows a token once; rotate replaces it at once; revoke makes the next call fail", async () => {
    const env = { DATABASE_URL: db.url, SUPABASE_URL: "" };
    const enrolled = await runCcm(["agent", "enroll", "cli-host-1", "--json", "--label", "role=web"], env);
    expect(enrolled.code, enrolled.output).toBe(0);
    const { token, agentId } = JSON.parse(enrolled.stdout) as { token: string; agentId: string };
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { rows } = await db.pool.query("select token_hash, labels from ccm.agents where id = $1", [agentId]);
    expect(rows[0].token_hash).not.toContain(token);
    expect(rows[0].labels).toEqual({ role: "web" });
    await expect(claim(token)).resolves.toEqual([]);

    const again = await runCcm(["agent", "enroll", "cli-host-1"], env);
    expect(again.code).toBe(1);
    expect(again.output).toContain("already has a token; rotate it instead");

    const outFile = path.join(tmp, "agent.token");
    const rotated = await runCcm(["agent", "rotate", "cli-host-1", "--out", outFile], env);
    expect(rotated.code, rotated.output).toBe(0);
    expect(rotated.output).not.toMatch(/[A-Za-z0-9_-]{43}/); // written to the file, not printed
    expect(statSync(outFile).mode & 0o777).toBe(0o600);
    const newToken = readFileSync(outFile, "utf8").trim();
    await expect(claim(token)).rejects.toMatchObject({ code: "28000" });
    await expect(claim(newToken)).resolves.toEqual([]);

    const revoked = await runCcm(["agent", "revoke", "cli-host-1"], env);
    expect(revoked.code, revoked.output).toBe(0);
    await expect(claim(newToken)).rejects.toMatchObject({ code: "28000" });
  });
});

describe("ccm keys generate", () => {
  it("writes a 0600 private key and a public key that agents can trust", async () => {
    const dir = path.join(tmp, "keys");
    const r = await runCcm(["keys", "generate", "--out-dir", dir, "--name", "alice"], {});
    expect(r.code, r.output).toBe(0);
    expect(statSync(path.join(dir, "alice.key")).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain("trusted_command_keys:");
    const verifier = createCommandVerifier({ trustedKeys: [readFileSync(path.join(dir, "alice.pub"), "utf8")], stateDir: path.join(tmp, "state") });
    const signed = signCommand({ taskId: "t", argv: ["uptime"], target: "h", expiresAt: new Date(Date.now() + 60_000) }, readFileSync(path.join(dir, "alice.key"), "utf8"));
    expect(verifier.verify(signed)).toMatchObject({ ok: true });
    const twice = await runCcm(["keys", "generate", "--out-dir", dir, "--name", "alice"], {});
    expect(twice.code).toBe(2); // never overwrites a key
  });
});

describe("postgres transport with a token, connected with only anon's privileges", () => {
  let sdb: SupabaseTestDatabase;
  let anonPool: Pool;
  beforeAll(async () => {
    sdb = await createSupabaseTestDatabase({ realtime: false });
    anonPool = createPool(sdb.url, { max: 1 });
    anonPool.on("connect", (c) => void c.query("set role anon"));
  });
  afterAll(async () => {
    await anonPool?.end();
    await sdb?.drop();
  });

  it("enrols, claims and finishes through the ccm.agent_* functions only", async () => {
    const token = "t".repeat(43);
    await sdb.pool.query("select ccm.op_enroll_agent('pg-tok-1', ccm.token_hash($1))", [token]);
    const store = new PgAgentStore(anonPool, { token });
    const agentId = await store.enroll({ host: "pg-tok-1", aliases: [], labels: {}, version: "t", playbooks: [], facts: {} });
    await sdb.pool.query(
      "with t as (insert into ccm.tasks (source, kind, status, host, agent_id) values ('operator', 'operator', 'queued', 'pg-tok-1', $1) returning id, agent_id) insert into ccm.runs (task_id, agent_id) select id, agent_id from t",
      [agentId],
    );
    const [run] = await store.claimRuns(agentId, 1, 30);
    expect(run).toBeDefined();
    expect(await store.startRun(run!.run_id, agentId, "x", true, true)).toBe(true);
    const step = await store.recordStep(run!.run_id, agentId, "diagnose", "df", {});
    await store.finishStep(step, agentId, { status: "ok" });
    expect(await store.finishRun(run!.run_id, agentId, "succeeded", "ok", {})).toBe(true);
    // The same pool cannot reach the internal functions or tables.
    await expect(anonPool.query("select * from ccm.claim_runs($1, 1, 30)", [agentId])).rejects.toMatchObject({ code: "42501" });
    await expect(anonPool.query("select count(*) from ccm.runs")).rejects.toMatchObject({ code: "42501" });
  });
});
