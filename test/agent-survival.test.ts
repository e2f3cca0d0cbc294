import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ingestAlerts } from "@ccm/store";
import { createTestDatabase, waitFor, type TestDatabase } from "./support/db.ts";
import { spawnCcm, type CcmProcess } from "./support/processes.ts";

let db: TestDatabase;
let dir: string;
const spawned: CcmProcess[] = [];
const HOST = `survive-${process.pid}`;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), "ccm-survive-"));
  await writeFile(
    path.join(dir, "agent.yaml"),
    stringify({
      host: HOST,
      poll_interval_ms: 500,
      // Long lease: only the journal can explain the interrupted run quickly.
      lease_seconds: 120,
      state_dir: path.join(dir, "state"),
      playbooks: { "test-sleep-once": { duration_ms: 60_000 } },
    }),
  );
});
afterAll(async () => {
  for (const p of spawned) p.kill("SIGKILL");
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

function agent(): CcmProcess {
  const a = spawnCcm(["agent"], { DATABASE_URL: db.url, CCM_AGENT_CONFIG: path.join(dir, "agent.yaml"), CCM_TEST_PLAYBOOKS: "1" });
  spawned.push(a);
  return a;
}

describe("agent survival", () => {
  it("a second agent for the same host and state folder refuses to start", async () => {
    const first = agent();
    await waitFor("first enrolled", async () => (await db.pool.query("select 1 from ccm.agents where host = $1", [HOST])).rowCount, 30_000);
    const second = agent();
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/another ccm agent \(pid \d+\) already runs/);
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
  });

  // retry: failed once (timed out) in a full CI run on the loaded 2-core machine; cause not yet found.
  it("after a SIGKILL mid-run, the restarted agent reports the interrupted run from its journal at once", { retry: 1 }, async () => {
    let a = agent();
    await waitFor("enrolled", async () => (await db.pool.query("select 1 from ccm.agents where host = $1 and last_seen > now() - interval '5 seconds'", [HOST])).rowCount, 30_000);
    const [r] = await ingestAlerts(db.pool, "alertmanager", null, [
      { fingerprint: "journal-1", status: "firing", labels: { alertname: "CCMTestSleepOnce", host: HOST }, annotations: {}, startsAt: null, endsAt: null, generatorURL: null, raw: {} },
    ]);
    await waitFor("running", async () => (await db.pool.query("select 1 from ccm.runs where task_id = $1 and status = 'running'", [r?.task_id])).rowCount, 30_000);
    a.kill("SIGKILL");
    await a.exited;

    a = agent();
    // The lease (120 s) has not run out: only the journal can tell what happened.
    await waitFor("marked unknown from the journal", async () => {
      const { rows } = await db.pool.query("select status, error from ccm.runs where task_id = $1", [r?.task_id]);
      return rows[0]?.status === "unknown" ? rows[0] : undefined;
    }, 30_000).catch(async (err) => {
      // This once timed out in a full CI run; keep what the restarted agent said for the next time.
      const { rows } = await db.pool.query("select status, error, agent_id, lease_expires_at from ccm.runs where task_id = $1", [r?.task_id]);
      throw new Error(`${String(err)}\nrun: ${JSON.stringify(rows)}\n--- restarted agent ---\n${a.output().slice(-4000)}`);
    });
    const { rows } = await db.pool.query("select error from ccm.runs where task_id = $1", [r?.task_id]);
    expect(rows[0].error).toMatch(/agent restarted while running test-sleep-once \(local journal\)/);
    expect(a.output()).toContain("was running this run when the agent stopped");
    a.kill("SIGTERM");
    expect(await a.exited).toBe(0);
  });

  it("past max_rss_mb the agent stops cleanly and exits 75 for systemd to restart it", async () => {
    const cfg = path.join(dir, "small.yaml");
    // 64 MiB is below what node + tsx alone take, so the watchdog trips on its first check (10 s).
    await writeFile(cfg, stringify({ host: `${HOST}-small`, max_rss_mb: 64, state_dir: path.join(dir, "state") }));
    const a = spawnCcm(["agent"], { DATABASE_URL: db.url, CCM_AGENT_CONFIG: cfg });
    spawned.push(a);
    expect(await a.exited).toBe(75);
    expect(a.output()).toContain("memory cap exceeded; stopping to be restarted");
    expect(a.output()).toContain("agent stopped");
  });

  it.skipIf(process.getuid?.() !== 0)("a full disk under the state folder does not stop a run (the journal is best effort)", async () => {
    const state = path.join(dir, "full-state");
    await mkdir(state);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "ccm-full-state", state]);
    try {
      const host = `${HOST}-full`;
      const cfg = path.join(dir, "full.yaml");
      await writeFile(cfg, stringify({ host, poll_interval_ms: 500, state_dir: state, playbooks: { "test-sleep": { duration_ms: 100 } } }));
      const a = spawnCcm(["agent"], { DATABASE_URL: db.url, CCM_AGENT_CONFIG: cfg, CCM_TEST_PLAYBOOKS: "1" });
      spawned.push(a);
      await waitFor("enrolled", async () => (await db.pool.query("select 1 from ccm.agents where host = $1", [host])).rowCount, 30_000);
      // Fill the state filesystem to the last byte.
      await writeFile(path.join(state, "filler"), Buffer.alloc(1024 * 1024)).catch(() => undefined);
      const [r] = await ingestAlerts(db.pool, "alertmanager", null, [
        { fingerprint: "full-1", status: "firing", labels: { alertname: "CCMTestSleep", host }, annotations: {}, startsAt: null, endsAt: null, generatorURL: null, raw: {} },
      ]);
      await waitFor("run succeeded", async () => {
        const { rows } = await db.pool.query("select status from ccm.runs where task_id = $1", [r?.task_id]);
        return rows[0]?.status === "succeeded";
      }, 30_000).catch((err) => {
        throw new Error(`${err}\n${a.output().slice(-3000)}`);
      });
      expect(a.output()).toContain("cannot write the local journal; going on");
      a.kill("SIGTERM");
      await a.exited;
    } finally {
      execFileSync("umount", ["-l", state]);
    }
  });
});
