import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/db.ts";
import { runCcm, spawnCcm, withStopped, type CcmProcess } from "../support/processes.ts";
import { broadcastFinished, insertBroadcast } from "./sql-agents.ts";

// Signed ad-hoc commands end to end: keys from `ccm keys generate`, broadcasts from
// `ccm broadcast command --key … -- argv`, real agent processes verifying and running them.
// cmd-1 trusts the operator key; plain-1 trusts none (so it does not offer `command`).
// To change the database between signing and claiming, cmd-1 is stopped (SIGSTOP) meanwhile.

let db: TestDatabase;
let dir: string;
const agents = new Map<string, CcmProcess>();
let operatorKey: string;
let strangerKey: string;

const cli = (args: string[]) => runCcm(["broadcast", ...args], { DATABASE_URL: db.url });
const HI = [process.execPath, "-e", "console.log('hi from a signed command')"];

async function startAgent(host: string, trusted: string[]) {
  const state = path.join(dir, host);
  await mkdir(state, { recursive: true });
  const config = path.join(state, "agent.yaml");
  await writeFile(
    config,
    stringify({
      host,
      labels: { role: "cmd" },
      poll_interval_ms: 300,
      lease_seconds: 10,
      heartbeat_interval_ms: 2_000,
      state_dir: state,
      metrics_port: 0,
      stop_file: path.join(state, "STOP"),
      command_timeout_ms: 20_000,
      ...(trusted.length ? { trusted_command_keys: trusted } : {}),
    }),
  );
  agents.set(host, spawnCcm(["agent"], { DATABASE_URL: db.url, CCM_AGENT_CONFIG: config, CCM_LOG_LEVEL: "info" }));
}

const finished = (id: string) => broadcastFinished(db.pool, id, 60_000, () => `--- cmd-1 ---\n${agents.get("cmd-1")?.output().slice(-4000)}`);

/** The latest run of each host of a broadcast, with its single step (if any). */
async function runs(id: string) {
  const { rows } = await db.pool.query(
    `select t.host, r.status, r.summary, r.result, s.status as step_status, s.exit_code, s.output_tail, s.args
       from ccm.tasks t
       join lateral (select x.* from ccm.runs x where x.task_id = t.id order by x.created_at desc limit 1) r on true
       left join ccm.run_steps s on s.run_id = r.id
      where t.broadcast_id = $1 order by t.host`,
    [id],
  );
  return rows as { host: string; status: string; summary: string; result: Record<string, unknown> | null; step_status: string | null; exit_code: number | null; output_tail: string | null; args: { argv?: string[] } | null }[];
}

/** Create a command broadcast while cmd-1 cannot claim, let `between` change the database, then let it go. */
const withAgentStopped = <T>(between: () => Promise<T>) => withStopped([agents.get("cmd-1") as CcmProcess], between);

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-signed-"));
  for (const name of ["operator", "stranger"]) {
    const r = await runCcm(["keys", "generate", "--out-dir", path.join(dir, "keys"), "--name", name], {});
    expect(r.code, r.output).toBe(0);
  }
  operatorKey = path.join(dir, "keys", "operator.key");
  strangerKey = path.join(dir, "keys", "stranger.key");
  await startAgent("cmd-1", [await readFile(path.join(dir, "keys", "operator.pub"), "utf8")]);
  await startAgent("plain-1", []);
  await waitFor("agents enrolled", async () => (await db.pool.query("select count(*)::int as n from ccm.agents")).rows[0].n === 2, 120_000, 250);
}, 180_000);

afterAll(async () => {
  for (const a of agents.values()) {
    a.kill("SIGCONT");
    a.kill("SIGKILL");
  }
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("signed ad-hoc commands on real agents", () => {
  it("only agents that trust a key offer `command`", async () => {
    const { rows } = await db.pool.query("select host, 'command' = any (playbooks) as offers from ccm.agents order by host");
    expect(rows).toEqual([
      { host: "cmd-1", offers: true },
      { host: "plain-1", offers: false },
    ]);
  });

  it("a signed command runs with its argv (no shell) and its output tail is recorded; an agent without keys is skipped", async () => {
    const created = await cli(["command", "--hosts", "cmd-1,plain-1", "--key", operatorKey, "--expires", "10m", "--by", "alice", "--", ...HI]);
    expect(created.code, created.output).toBe(0);
    const id = created.stdout.trim();
    expect(await finished(id)).toMatchObject({ status: "completed" });
    const [cmd, plain] = await runs(id);
    expect(cmd).toMatchObject({ host: "cmd-1", status: "succeeded", step_status: "ok", exit_code: 0 });
    expect(cmd?.output_tail).toContain("hi from a signed command");
    expect(cmd?.args?.argv).toEqual(HI);
    expect(cmd?.result).toMatchObject({ exit_code: 0, command: HI });
    expect(plain).toMatchObject({ host: "plain-1", status: "skipped" });
    const { rows } = await db.pool.query("select command from ccm.broadcasts where id = $1", [id]);
    expect(rows[0].command).toMatchObject({ argv: HI });
  }, 90_000);

  it("a command exiting non-zero fails the run with its exit code", async () => {
    const created = await cli(["command", "--hosts", "cmd-1", "--key", operatorKey, "--", process.execPath, "-e", "console.error('boom'); process.exit(3)"]);
    expect(created.code, created.output).toBe(0);
    await finished(created.stdout.trim());
    const [cmd] = await runs(created.stdout.trim());
    expect(cmd).toMatchObject({ status: "failed", step_status: "failed", exit_code: 3 });
    expect(cmd?.output_tail).toContain("boom");
  }, 90_000);

  it("a dry run verifies and records, and runs nothing", async () => {
    const marker = path.join(dir, "dry-run-marker");
    const created = await cli(["command", "--hosts", "cmd-1", "--key", operatorKey, "--dry-run", "--", process.execPath, "-e", `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`]);
    expect(created.code, created.output).toBe(0);
    await finished(created.stdout.trim());
    const [cmd] = await runs(created.stdout.trim());
    expect(cmd).toMatchObject({ status: "succeeded", step_status: "dry_run" });
    expect(existsSync(marker)).toBe(false);
  }, 90_000);

  it("a command signed by a key the agent does not trust is refused: wrong key", async () => {
    const created = await cli(["command", "--hosts", "cmd-1", "--key", strangerKey, "--", ...HI]);
    expect(created.code, created.output).toBe(0);
    await finished(created.stdout.trim());
    const [cmd] = await runs(created.stdout.trim());
    expect(cmd).toMatchObject({ status: "failed", step_status: null, result: { reason: "command_refused", refusal: "wrong key" } });
    expect(cmd?.summary).toMatch(/^ad-hoc command refused \(wrong key\)/);
  }, 90_000);

  it("argv altered in the database after signing is refused: altered, and nothing runs", async () => {
    const marker = path.join(dir, "altered-marker");
    const id = await withAgentStopped(async () => {
      const created = await cli(["command", "--hosts", "cmd-1", "--key", operatorKey, "--", ...HI]);
      expect(created.code, created.output).toBe(0);
      const bid = created.stdout.trim();
      const evil = [process.execPath, "-e", `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`];
      const upd = await db.pool.query("update ccm.tasks set command = jsonb_set(command, '{argv}', $2) where broadcast_id = $1", [bid, JSON.stringify(evil)]);
      expect(upd.rowCount).toBe(1);
      return bid;
    });
    await finished(id);
    const [cmd] = await runs(id);
    expect(cmd).toMatchObject({ status: "failed", step_status: null, result: { refusal: "altered" } });
    expect(existsSync(marker)).toBe(false);
  }, 90_000);

  it("a command claimed after its expiry is refused: expired", async () => {
    const id = await withAgentStopped(async () => {
      const created = await cli(["command", "--hosts", "cmd-1", "--key", operatorKey, "--expires", "1s", "--", ...HI]);
      expect(created.code, created.output).toBe(0);
      const bid = created.stdout.trim();
      const { rows } = await db.pool.query("select (command ->> 'expiresAt')::timestamptz as exp from ccm.tasks where broadcast_id = $1", [bid]);
      // Wait (on the database clock, not a timing assert) until the signature is past its expiry.
      await waitFor("signature expired", async () => (await db.pool.query("select now() > $1::timestamptz + interval '200 milliseconds' as past", [rows[0].exp])).rows[0].past, 10_000, 100);
      return bid;
    });
    await finished(id);
    const [cmd] = await runs(id);
    expect(cmd).toMatchObject({ status: "failed", result: { refusal: "expired" } });
  }, 90_000);

  it("the same signed task queued again is refused: replayed", async () => {
    const created = await cli(["command", "--hosts", "cmd-1", "--key", operatorKey, "--", ...HI]);
    expect(created.code, created.output).toBe(0);
    const id = created.stdout.trim();
    await finished(id);
    expect((await runs(id))[0]).toMatchObject({ status: "succeeded" });
    // Re-queue the very same task (same signature, same task id) as a fresh run.
    await db.pool.query(
      "insert into ccm.runs (task_id, agent_id, status, playbook) select t.id, t.agent_id, 'queued', 'command' from ccm.tasks t where t.broadcast_id = $1",
      [id],
    );
    const again = await waitFor(
      "replayed run finished",
      async () => {
        const [r] = await runs(id);
        return r && r.status !== "queued" && r.status !== "claimed" && r.status !== "running" ? r : undefined;
      },
      30_000,
      200,
    );
    expect(again).toMatchObject({ status: "failed", step_status: null, result: { refusal: "replayed" } });
  }, 90_000);

  it("a command broadcast inserted without signatures (plain SQL) is refused by the agent: unsigned", async () => {
    const id = await insertBroadcast(db.pool, { playbook: "command", command: { argv: HI }, selector: { hosts: ["cmd-1"] } });
    await finished(id);
    const [cmd] = await runs(id);
    expect(cmd).toMatchObject({ status: "failed", result: { refusal: "unsigned" } });
  }, 90_000);

  it("the database refuses a command broadcast without argv and the old ad-hoc names", async () => {
    await expect(insertBroadcast(db.pool, { playbook: "command", selector: { hosts: ["cmd-1"] } })).rejects.toThrow(/needs command.argv/);
    await expect(insertBroadcast(db.pool, { playbook: "shell", selector: { hosts: ["cmd-1"] } })).rejects.toThrow(/ccm broadcast command --key/);
    await expect(insertBroadcast(db.pool, { playbook: "collect-facts", command: { argv: ["x"] }, selector: { hosts: ["cmd-1"] } })).rejects.toThrow(/only for playbook command/);
    const noKey = await cli(["command", "--hosts", "cmd-1", "--", ...HI]);
    expect(noKey.code).toBe(2);
    expect(noKey.output).toContain("--key FILE");
  });
});
