import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { writeAgentConfig } from "./agent-config-file.ts";
import { resetData } from "./bench-db.ts";
import { alivePid, CLI, spawnNode, stopChild, type Proc } from "./child.ts";
import { fmt, ratio, sleep, summarize, type Summary } from "./stats.ts";
import { startTcpProxy } from "./tcp-proxy.ts";
import type { BenchContext, Benchmark } from "./types.ts";

const RUNS = Number(process.env.CCM_BENCH_OUTAGE_RUNS ?? 5);
const OUTAGE_MS = Number(process.env.CCM_BENCH_OUTAGE_MS ?? 10_000);
const POLL_MS = 5_000;
const HOST = "bench-outage-agent";
const TIMEOUT_MS = 60_000;

async function dbNowMs(ctx: BenchContext): Promise<number> {
  const { rows } = await ctx.pool.query<{ ms: number }>("select extract(epoch from clock_timestamp())::float8 * 1000 as ms");
  return rows[0]?.ms ?? Number.NaN;
}

/** Insert a CCMTestSleep alert for the agent through the direct connection; the task id. */
async function insertAlert(ctx: BenchContext, tag: string): Promise<string> {
  const alert = {
    fingerprint: `bench-outage-${tag}-${Date.now().toString(36)}`,
    status: "firing",
    labels: { alertname: "CCMTestSleep", host: HOST, mountpoint: `/bench/${tag}-${Date.now().toString(36)}` },
    annotations: { summary: "outage-recovery bench" },
    startsAt: new Date().toISOString(),
    endsAt: null,
    generatorURL: null,
  };
  const { rows } = await ctx.pool.query<{ task_id: string | null }>("select * from ccm.ingest_alerts('alertmanager', $1, $2)", [
    `bench-outage-${tag}`,
    JSON.stringify([alert]),
  ]);
  const taskId = rows[0]?.task_id;
  if (!taskId) throw new Error(`outage-recovery: the alert created no task: ${JSON.stringify(rows[0])}`);
  return taskId;
}

/** Wait until the task's run is claimed, then until it is finished; the claim instant (DB clock, ms). */
async function claimedAt(ctx: BenchContext, taskId: string, agent: Proc): Promise<number> {
  const deadline = Date.now() + TIMEOUT_MS;
  let claimed: number | undefined;
  for (;;) {
    alivePid(agent, "ccm agent");
    const { rows } = await ctx.pool.query<{ claimed_ms: number | null; finished: boolean }>(
      `select extract(epoch from claimed_at)::float8 * 1000 as claimed_ms, finished_at is not null as finished
         from ccm.runs where task_id = $1 order by attempt desc limit 1`,
      [taskId],
    );
    claimed ??= rows[0]?.claimed_ms ?? undefined;
    if (claimed !== undefined && rows[0]?.finished) return claimed;
    if (Date.now() > deadline) throw new Error(`outage-recovery: task ${taskId} not claimed and finished within ${TIMEOUT_MS} ms: ${agent.tail()}`);
    await sleep(20);
  }
}

const secs = (s: Summary): string => `median ${fmt(s.median / 1000)} s, p99 ${fmt(s.p99 / 1000)} s, max ${fmt(s.max / 1000)} s (n=${s.n})`;

export const outageRecovery: Benchmark = {
  name: "outage-recovery",
  measures:
    `Recovery after a database outage: a real \`ccm agent\` process (CCM_TEST_PLAYBOOKS=1, test-sleep 0 ms, ${POLL_MS / 1000} s poll) ` +
    `reaches PostgreSQL through a loopback TCP proxy; the proxy is cut for ${OUTAGE_MS / 1000} s (every connection dropped, new ` +
    `ones refused), restored, and at once a CCMTestSleep alert for the agent is inserted through the direct connection. Measured: ` +
    `restore (clock_timestamp() right after restore) → runs.claimed_at, both on the DB clock, ${RUNS} runs. After the outage the ` +
    `agent's LISTEN connection reconnects with back-off (up to 10 s), so the wake-up may be missed and the ${POLL_MS / 1000} s poll ` +
    `bounds the worst case. Baseline: the same insert → claimed with no outage (the normal NOTIFY wake-up path).`,

  async run(ctx) {
    await resetData(ctx.pool);
    // 2 × RUNS runs of one playbook on one host: lift the default per-host budget (3 a day) so every run does its work.
    await ctx.pool.query(
      `insert into ccm.remediation_budgets (playbook, max_per_host, per_interval, max_concurrent)
       values ('test-sleep', 1000, interval '1 hour', 5)
       on conflict (playbook) do update set max_per_host = excluded.max_per_host, per_interval = excluded.per_interval`,
    );
    const target = new URL(ctx.databaseUrl);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    const viaProxy = new URL(ctx.databaseUrl);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const dir = await mkdtemp(path.join(os.tmpdir(), "ccm-bench-outage-"));
    const config = await writeAgentConfig(dir, {
      host: HOST,
      poll_interval_ms: POLL_MS,
      dry_run: false,
      playbooks: { "test-sleep": { duration_ms: 0 } },
    });
    const agent = spawnNode(["--import", "tsx", CLI, "agent"], {
      DATABASE_URL: viaProxy.toString(),
      CCM_AGENT_CONFIG: config,
      CCM_TEST_PLAYBOOKS: "1",
      CCM_LOG_LEVEL: "warn",
    });
    const cleanup = async () => {
      await stopChild(agent);
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    };
    const untrack = ctx.onCleanup(cleanup);
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        alivePid(agent, "ccm agent");
        const { rowCount } = await ctx.pool.query("select 1 from ccm.agents where host = $1", [HOST]);
        if (rowCount) break;
        if (Date.now() > deadline) throw new Error(`outage-recovery: the agent did not enrol: ${agent.tail()}`);
        await sleep(100);
      }
      // Let the agent settle into LISTEN before the first insert.
      await sleep(2_000);

      const normal: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = await dbNowMs(ctx);
        const taskId = await insertAlert(ctx, `normal-${i}`);
        normal.push((await claimedAt(ctx, taskId, agent)) - t);
        ctx.progress(`outage-recovery: no outage, run ${i + 1}/${RUNS}: insert → claimed ${fmt(normal[i] ?? Number.NaN)} ms`);
      }

      const recovered: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        await proxy.cut();
        await sleep(OUTAGE_MS);
        await proxy.restore();
        const restoredAt = await dbNowMs(ctx);
        const taskId = await insertAlert(ctx, `outage-${i}`);
        recovered.push((await claimedAt(ctx, taskId, agent)) - restoredAt);
        ctx.progress(`outage-recovery: outage run ${i + 1}/${RUNS}: restore → claimed ${fmt((recovered[i] ?? Number.NaN) / 1000)} s`);
        // Let the agent's connections settle before the next cut.
        await sleep(1_000);
      }

      const after = summarize(recovered);
      const base = summarize(normal);
      return {
        rows: [
          {
            case: `${OUTAGE_MS / 1000} s database outage → restore → run claimed (alert inserted at restore; poll ${POLL_MS / 1000} s)`,
            ccm: secs(after),
            baseline: `no outage, insert → claimed: median ${fmt(base.median)} ms, p99 ${fmt(base.p99)} ms (n=${base.n})`,
            ratio: ratio(after.median, base.median),
            ratioOf: "median restore → claimed / median insert → claimed without outage",
          },
        ],
        warnings: [],
        details: { runs: RUNS, outageMs: OUTAGE_MS, pollMs: POLL_MS, restoreToClaimedMs: recovered, insertToClaimedMs: normal, after, baseline: base },
      };
    } finally {
      untrack();
      await cleanup();
    }
  },
};
