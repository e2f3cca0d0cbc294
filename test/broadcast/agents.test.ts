import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createTestDatabase, waitFor, type TestDatabase } from "../support/db.ts";
import { freePort, runCcm, spawnCcm, withStopped, type CcmProcess } from "../support/processes.ts";
import { broadcastFinished, enroll, insertBroadcast } from "./sql-agents.ts";

// Real agent processes on loopback (8 web + 2 db, each with its own config, labels and state_dir),
// one real hub (its rollout controller), broadcasts created through the CLI and through SQL.
// Nothing is installed: package-update goes to test/broadcast/fixtures/fake-pm.mjs.

const FAKE_PM = fileURLToPath(new URL("./fixtures/fake-pm.mjs", import.meta.url));
const WEB = Array.from({ length: 8 }, (_, i) => `web-${String(i + 1).padStart(2, "0")}`);
const DB = ["db-01", "db-02"];

let db: TestDatabase;
let dir: string;
let hub: CcmProcess | undefined;
const agents = new Map<string, CcmProcess>();

const cli = (args: string[]) => runCcm(["broadcast", ...args], { DATABASE_URL: db.url });

async function startAgent(host: string, labels: Record<string, string>) {
  const state = path.join(dir, host);
  await mkdir(state, { recursive: true });
  const config = path.join(state, "agent.yaml");
  await writeFile(
    config,
    stringify({
      host,
      labels,
      poll_interval_ms: 500,
      lease_seconds: 10,
      heartbeat_interval_ms: 2_000,
      state_dir: state,
      metrics_port: 0,
      stop_file: path.join(state, "STOP"),
      playbooks: {
        "package-update": { manager: "command", command: [process.execPath, FAKE_PM] },
        // Long enough that `ccm broadcast pause` (a separate process) lands before the canary finishes.
        "test-sleep": { duration_ms: 6_000 },
      },
    }),
  );
  agents.set(
    host,
    spawnCcm(["agent"], {
      DATABASE_URL: db.url,
      CCM_AGENT_CONFIG: config,
      CCM_TEST_PLAYBOOKS: "1",
      CCM_LOG_LEVEL: "info",
      FAKE_PM_LOG: path.join(state, "pm.log"),
      // web-05's repositories do not have package x.
      FAKE_PM_MISSING: host === "web-05" ? "x" : undefined,
    }),
  );
}

const pmCalls = async (host: string) =>
  (await readFile(path.join(dir, host, "pm.log"), "utf8").catch(() => "")).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as string[]);

const finished = (id: string, timeoutMs = 90_000) =>
  broadcastFinished(db.pool, id, timeoutMs, () => `--- hub ---\n${hub?.output().slice(-3000)}\n--- web-01 ---\n${agents.get("web-01")?.output().slice(-3000)}`);

/** Waves must never overlap: every run of wave k was released after every run of wave k-1 finished. */
async function expectWavesInOrder(id: string) {
  const { rows } = await db.pool.query(
    `select t.broadcast_wave as wave, min(t.released_at) as first_release, max(r.finished_at) as last_finish
       from ccm.tasks t join ccm.runs r on r.task_id = t.id
      where t.broadcast_id = $1 and t.released_at is not null group by 1 order by 1`,
    [id],
  );
  for (let i = 1; i < rows.length; i++) {
    expect(rows[i].first_release.getTime(), `wave ${rows[i].wave} released before wave ${rows[i - 1].wave} finished`).toBeGreaterThanOrEqual(rows[i - 1].last_finish.getTime());
  }
  return rows.length;
}

/** Every agent process stopped around `fn`, so no claim can race what the test does. */
const withAgentsStopped = <T>(fn: () => Promise<T>) => withStopped(agents.values(), fn);

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-broadcast-"));
  const port = await freePort();
  hub = spawnCcm(["hub"], { DATABASE_URL: db.url, CCM_HUB_PORT: String(port), CCM_HUB_HOST: "127.0.0.1", CCM_LOG_LEVEL: "info" });
  for (const h of WEB) await startAgent(h, { role: "web", env: "prod" });
  for (const h of DB) await startAgent(h, { role: "db", env: "prod" });
  await waitFor("agents enrolled", async () => (await db.pool.query("select count(*)::int as n from ccm.agents")).rows[0].n === 10, 120_000, 250);
  await waitFor("hub ready", async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok, 60_000);
  // web-09 enrolled once and is gone: no process claims for it.
  await enroll(db.pool, "web-09", { role: "web", env: "prod" }, ["collect-facts", "package-update", "test-sleep"]);
}, 180_000);

afterAll(async () => {
  for (const a of agents.values()) a.kill("SIGKILL");
  hub?.kill("SIGKILL");
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe("broadcasts on real agents", () => {
  it("collect-facts to role=web from the CLI: canary, then batches in order; the offline host counts as offline after the TTL", async () => {
    const created = await cli(["collect-facts", "--select", "role=web,env=prod", "--canary", "1", "--batch", "3", "--offline-ttl", "3", "--by", "alice"]);
    expect(created.code, created.output).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const b = await finished(id);
    expect(b).toEqual({ status: "completed", summary: "8/9 succeeded; 1 offline (web-09)" });
    expect(await expectWavesInOrder(id)).toBeGreaterThanOrEqual(3);
    const { rows } = await db.pool.query("select distinct r.playbook from ccm.runs r join ccm.tasks t on t.id = r.task_id where t.broadcast_id = $1 and r.status = 'succeeded'", [id]);
    expect(rows).toEqual([{ playbook: "collect-facts" }]);

    const shown = await cli(["show", id.slice(0, 8), "--json"]);
    expect(shown.code, shown.output).toBe(0);
    const detail = JSON.parse(shown.stdout);
    expect(detail.states).toEqual({ succeeded: 8, offline: 1 });
    expect(detail.hosts[0]).toMatchObject({ host: "web-01", wave: 0, state: "succeeded" });
    const text = await cli(["show", id]);
    expect(text.stdout).toContain("summary:  8/9 succeeded; 1 offline (web-09)");
  }, 120_000);

  it("package-update x: web-05 fails with apt's line and exit code, the rest succeed (max failures 1)", async () => {
    const created = await cli(["package-update", "--select", "role=web", "--exclude-hosts", "web-09", "--param", "name=x", "--canary", "1", "--batch", "50%", "--max-failures", "1"]);
    expect(created.code, created.output).toBe(0);
    const b = await finished(created.stdout.trim());
    expect(b).toEqual({ status: "completed", summary: "7/8 succeeded; web-05 failed: E: Unable to locate package x (exit 100)" });
    expect(await pmCalls("web-01")).toEqual([["install", "x"]]);
    expect(await pmCalls("db-01")).toEqual([]);
    const slack = await db.pool.query("select payload ->> 'text' as text from ccm.notifications where kind = 'broadcast_done' and payload ->> 'broadcast_id' = $1", [created.stdout.trim()]);
    expect(slack.rows).toEqual([{ text: b.summary }]);
  }, 120_000);

  it("a failing canary stops the broadcast: nothing else is released, the rest is skipped with the reason", async () => {
    const created = await cli(["package-update", "--hosts", "web-0*", "--exclude-hosts", "web-09", "--param", "name=missing-y", "--canary", "1", "--batch", "3"]);
    const id = created.stdout.trim();
    const b = await finished(id);
    expect(b.status).toBe("stopped");
    expect(b.summary).toBe("0/8 succeeded; web-01 failed: E: Unable to locate package missing-y (exit 100); 7 skipped; stopped: canary failed");
    for (const h of WEB.slice(1)) expect((await pmCalls(h)).some((c) => c[1] === "missing-y")).toBe(false);
  }, 120_000);

  it("pause holds the next wave, resume releases it, cancel ends it; dry run changes nothing", async () => {
    // Agents are stopped (SIGSTOP) around each operator command, so a slow CLI start on a loaded
    // machine cannot let the canary finish, and the next wave go out, before the pause lands.
    const id = await withAgentsStopped(async () => {
      const created = await cli(["test-sleep", "--select", "role=db|web", "--exclude-hosts", "web-09", "--canary", "1", "--batch", "3"]);
      const createdId = created.stdout.trim();
      expect((await cli(["pause", createdId, "--by", "alice", "--reason", "checking"])).code).toBe(0);
      return createdId;
    });
    // The released, unclaimed canary is held again; no batch is released while paused.
    const { rows: canary } = await db.pool.query("select status from ccm.tasks where broadcast_id = $1 and broadcast_wave = 0", [id]);
    expect(canary[0]?.status).toBe("held");
    await new Promise((r) => setTimeout(r, 2_000)); // the hub's rollout ticks every second
    await db.pool.query("select ccm.advance_broadcasts()");
    const held = await db.pool.query("select count(*)::int as n from ccm.tasks where broadcast_id = $1 and released_at is not null", [id]);
    expect(held.rows[0].n).toBe(0);

    expect((await cli(["resume", id, "--by", "alice"])).code).toBe(0);
    await waitFor("wave 1 released", async () => (await db.pool.query("select 1 from ccm.tasks where broadcast_id = $1 and broadcast_wave = 1 and released_at is not null", [id])).rowCount, 60_000);
    const cancelled = await withAgentsStopped(() => cli(["cancel", id, "--by", "bob"]));
    expect(cancelled.output).toMatch(/cancelled/);
    const b = await finished(id);
    expect(b.status).toBe("cancelled");
    expect(b.summary).toMatch(/^\d+\/10 succeeded; \d+ cancelled; cancelled by bob$/);
    const late = await db.pool.query("select count(*)::int as n from ccm.tasks where broadcast_id = $1 and broadcast_wave >= 2 and released_at is not null", [id]);
    expect(late.rows[0].n).toBe(0);

    const dry = await cli(["package-update", "--hosts", "db-*", "--param", "name=curl", "--batch", "100%", "--dry-run"]);
    const d = await finished(dry.stdout.trim());
    expect(d.summary).toBe("dry run: 2/2 succeeded");
    expect(await pmCalls("db-01")).toEqual([]);
  }, 150_000);

  it("a plain INSERT from SQL works the same; an agent refuses params its playbook rejects, with the reason", async () => {
    const id = await insertBroadcast(db.pool, { playbook: "package-update", params: { name: "-o" }, selector: { hosts: ["db-01"] }, canary: 0, batch: "100%", max_failures: "100%", created_by: "studio" });
    const b = await finished(id);
    expect(b.summary).toMatch(/^0\/1 succeeded; db-01 failed: invalid params for package-update: name: .*; refused$/);
    expect(await pmCalls("db-01")).toEqual([]);
    // Ad-hoc commands need --key and an argv (signed: test/broadcast/signed-commands.test.ts).
    const ad = await cli(["command", "--all"]);
    expect(ad.code).toBe(2);
    expect(ad.output).toContain("the command goes after --");
  }, 120_000);
});
