import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseHubConfig, startHub } from "@ccm/hub";
import { createLogger } from "@ccm/logger";
import { writeAgentConfig } from "./agent-config-file.ts";
import { resetData } from "./bench-db.ts";
import { alivePid, CLI, isRunning, spawnNode, stopChild, type Proc } from "./child.ts";
import { postJson } from "./http-client.ts";
import { BENCH_TOKEN, discardLogs, WEBHOOK_PATH } from "./hub-server.ts";
import { webhookBody } from "./payload.ts";
import { fmt, preciseWallClock, ratio, sleep, summarize, type Summary } from "./stats.ts";
import type { BenchContext, Benchmark } from "./types.ts";

const RUNS = Number(process.env.CCM_BENCH_RECOVERY_RUNS ?? 5);
const LEASE_S = 5;
const SWEEP_MS = 1_000;
// The shipped defaults (apps/agent/src/config.ts lease_seconds, apps/hub/src/config.ts CCM_LEASE_SWEEP_INTERVAL_MS).
const DEFAULT_LEASE_S = 30;
const DEFAULT_SWEEP_MS = 5_000;
// The agent renews every third of the lease, so at a kill between 2/3 and all of the lease is left.
const RENEW_MS = (LEASE_S * 1000) / 3;

interface Sample {
  /** SIGKILL → attempt 2 queued (its created_at, the sweeper's transaction on the DB clock). */
  killToRequeueMs: number;
  /** lease_expires_at − kill: what the dead agent's last renewal still promised. */
  leaseLeftMs: number;
  /** requeue − lease_expires_at: the wait for the next sweep. */
  sweepWaitMs: number;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, agent: Proc): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`dead-agent-recovery: ${what} not seen within ${timeoutMs} ms; agent output: ${agent.tail()}`);
    await sleep(25);
  }
}

async function one(ctx: BenchContext, hubUrl: string, i: number, dir: string, register: (p: Proc) => void): Promise<Sample> {
  const pool = ctx.pool;
  const host = `bench-dead-${i}`;
  const config = await writeAgentConfig(await mkdtemp(path.join(dir, `agent-${i}-`)), {
    host,
    lease_seconds: LEASE_S,
    poll_interval_ms: 1_000,
    // The test playbook only waits; dry-run would skip the wait.
    dry_run: false,
    playbooks: { "test-sleep": { duration_ms: 60_000 } },
  });
  const agent = spawnNode(["--import", "tsx", CLI, "agent"], {
    DATABASE_URL: ctx.databaseUrl,
    CCM_AGENT_CONFIG: config,
    CCM_TEST_PLAYBOOKS: "1",
    CCM_LOG_LEVEL: "info",
  }, true);
  register(agent);
  await waitFor("enrolment", 30_000, async () => {
    alivePid(agent, "ccm agent");
    const { rowCount } = await pool.query("select 1 from ccm.agents where host = $1", [host]);
    return rowCount ? true : undefined;
  }, agent);

  const httpAgent = new http.Agent({ keepAlive: false });
  const res = await postJson(httpAgent, hubUrl + WEBHOOK_PATH, webhookBody(`dead${i}`, i, 1, [host], "CCMTestSleep"), BENCH_TOKEN);
  const taskId = (JSON.parse(res.body) as { alerts?: Array<{ task_id?: string }> }).alerts?.[0]?.task_id;
  if (res.status !== 200 || !taskId) throw new Error(`webhook not ingested: HTTP ${res.status} ${res.body.slice(0, 300)}`);

  // Mid-run: the playbook's sleep step is recorded and running.
  await waitFor("the test-sleep step running", 30_000, async () => {
    alivePid(agent, "ccm agent");
    const { rowCount } = await pool.query(
      `select 1 from ccm.runs r join ccm.run_steps s on s.run_id = r.id
        where r.task_id = $1 and r.attempt = 1 and r.status = 'running' and s.status = 'started'`,
      [taskId],
    );
    return rowCount ? true : undefined;
  }, agent);
  // Kill at evenly spread points of the renewal cycle, so the runs sample every amount of lease left.
  await sleep((i / RUNS) * RENEW_MS);

  const now = preciseWallClock();
  const { rows: before } = await pool.query<{ expires_ms: number }>(
    "select extract(epoch from lease_expires_at)::float8 * 1000 as expires_ms from ccm.runs where task_id = $1 and attempt = 1",
    [taskId],
  );
  const pid = alivePid(agent, "ccm agent");
  process.kill(pid, "SIGKILL");
  const killedAt = now();
  await agent.exited;
  // A renewal may have committed between the read and the kill: read the lease again.
  const { rows: after } = await pool.query<{ expires_ms: number; status: string }>(
    "select extract(epoch from lease_expires_at)::float8 * 1000 as expires_ms, status from ccm.runs where task_id = $1 and attempt = 1",
    [taskId],
  );
  const expiresMs = after[0]?.expires_ms ?? before[0]?.expires_ms ?? Number.NaN;

  const requeuedMs = await waitFor("attempt 2 queued", (LEASE_S + 10) * 1000, async () => {
    const { rows } = await pool.query<{ created_ms: number }>(
      `select extract(epoch from created_at)::float8 * 1000 as created_ms from ccm.runs
        where task_id = $1 and attempt = 2 and status = 'queued'`,
      [taskId],
    );
    return rows[0]?.created_ms;
  }, agent);
  const { rows: first } = await pool.query<{ status: string }>("select status from ccm.runs where task_id = $1 and attempt = 1", [taskId]);
  if (first[0]?.status !== "expired") throw new Error(`attempt 1 is ${first[0]?.status}, expected expired`);
  return { killToRequeueMs: requeuedMs - killedAt, leaseLeftMs: expiresMs - killedAt, sweepWaitMs: requeuedMs - expiresMs };
}

const secs = (ms: number): string => `${fmt(ms / 1000)} s`;
const dist = (s: Summary): string => `median ${secs(s.median)}, p99 ${secs(s.p99)}, max ${secs(s.max)} (n=${s.n})`;

export const deadAgentRecovery: Benchmark = {
  name: "dead-agent-recovery",
  measures:
    `Time from SIGKILL of a real \`ccm agent\` process in the middle of a 60 s test playbook (CCM_TEST_PLAYBOOKS=1, alertname ` +
    `CCMTestSleep, idempotent) to the run being back in the queue as attempt 2, with the hub's lease sweeper running (startHub ` +
    `in the bench process). Lease ${LEASE_S} s, sweep every ${SWEEP_MS / 1000} s, ${RUNS} runs killed at evenly spread points of ` +
    `the ${fmt(RENEW_MS / 1000)} s renewal cycle; kill time on the host clock, re-queue time = the new run's created_at (DB clock, same host). ` +
    `Baseline: the configured lease, the least any lease-based recovery can take; expected range 2/3 · lease … lease + sweep interval.`,

  async run(ctx) {
    await resetData(ctx.pool);
    const dir = await mkdtemp(path.join(os.tmpdir(), "ccm-bench-dead-"));
    const log = createLogger("ccm-hub", { level: "info", destination: discardLogs });
    const hub = await startHub(
      parseHubConfig({
        CCM_HUB_PORT: "0",
        CCM_HUB_HOST: "127.0.0.1",
        CCM_WEBHOOK_TOKEN: BENCH_TOKEN,
        CCM_LEASE_SWEEP_INTERVAL_MS: String(SWEEP_MS),
        CCM_HUB_MIGRATE: "false",
        CCM_DB_POOL_MAX: "4",
      }),
      ctx.databaseUrl,
      log,
    );
    const agents: Proc[] = [];
    const cleanup = async (): Promise<void> => {
      await Promise.all(agents.filter(isRunning).map(stopChild));
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    };
    const untrack = ctx.onCleanup(cleanup);
    const samples: Sample[] = [];
    try {
      for (let i = 0; i < RUNS; i++) {
        const s = await one(ctx, hub.url, i, dir, (p) => agents.push(p));
        samples.push(s);
        ctx.progress(
          `dead-agent-recovery run ${i + 1}/${RUNS}: SIGKILL → re-queued ${secs(s.killToRequeueMs)} ` +
            `(lease left ${secs(s.leaseLeftMs)}, sweep wait ${secs(s.sweepWaitMs)})`,
        );
      }
    } finally {
      untrack();
      await cleanup();
    }
    const total = summarize(samples.map((s) => s.killToRequeueMs));
    const left = summarize(samples.map((s) => s.leaseLeftMs));
    const wait = summarize(samples.map((s) => s.sweepWaitMs));
    const sweepOverMs = Math.max(0, wait.max);
    return {
      rows: [
        {
          case: `SIGKILL mid-run → run re-queued (attempt 2); lease ${LEASE_S} s, sweep every ${SWEEP_MS / 1000} s`,
          ccm:
            `${dist(total)}; of which lease still left at the kill median ${secs(left.median)}, ` +
            `wait for the sweep after expiry median ${secs(wait.median)} (max ${secs(wait.max)})`,
          baseline: `lease ${LEASE_S} s; bound: lease + sweep = ${fmt(LEASE_S + SWEEP_MS / 1000)} s, at least 2/3 · lease = ${fmt((LEASE_S * 2) / 3)} s`,
          ratio: ratio(total.median, LEASE_S * 1000),
          ratioOf: "median recovery / lease",
        },
        {
          case: `same formula at the defaults: lease ${DEFAULT_LEASE_S} s, sweep every ${DEFAULT_SWEEP_MS / 1000} s (computed, not measured)`,
          ccm:
            `between ${fmt((DEFAULT_LEASE_S * 2) / 3)} s and ${fmt(DEFAULT_LEASE_S + DEFAULT_SWEEP_MS / 1000)} s ` +
            `(lease left at the kill: ${fmt((DEFAULT_LEASE_S * 2) / 3)}–${DEFAULT_LEASE_S} s, renewed every ${fmt(DEFAULT_LEASE_S / 3)} s; ` +
            `plus 0–${DEFAULT_SWEEP_MS / 1000} s to the next sweep; in the measured runs the wait after expiry was at most ${secs(sweepOverMs)})`,
          baseline: `lease ${DEFAULT_LEASE_S} s`,
          ratio: ratio(DEFAULT_LEASE_S + DEFAULT_SWEEP_MS / 1000, DEFAULT_LEASE_S),
          ratioOf: "worst case (lease + sweep) / lease",
        },
      ],
      warnings: [],
      details: { runs: RUNS, leaseSeconds: LEASE_S, sweepIntervalMs: SWEEP_MS, renewEveryMs: RENEW_MS, samples, total, leaseLeft: left, sweepWait: wait },
    };
  },
};
