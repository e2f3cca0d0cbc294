import { advanceBroadcasts, createBroadcast, createPool, PgAgentStore, type Pool } from "@ccm/store";
import { warmPool } from "./ccm-workers.ts";
import { seedQueuedRuns } from "./seed-runs.ts";
import { fmt, percentile, ratio, sleep, summarize } from "./stats.ts";
import type { BenchContext, Benchmark, ResultRow } from "./types.ts";

const AGENTS = Number(process.env.CCM_BENCH_BROADCAST_AGENTS ?? 1_000);
const RUNS = Number(process.env.CCM_BENCH_BROADCAST_RUNS ?? 3);
const LOOPS = 8;
/** The hub's rollout worker calls ccm.advance_broadcasts() every second; the bench every 50 ms. */
const ADVANCE_MS = 50;
const PLAYBOOK = "collect-facts";
const TIMEOUT_MS = 120_000;

interface FanoutRun {
  mode: "broadcast" | "plain";
  /** Per run: creation (broadcast row / run row, DB clock) → claimed_at, ms. */
  claimDelayMs: number[];
  /** Creation → last claim (DB clock), ms. */
  allClaimedMs: number;
  /** Creation → summary written (broadcast.finished_at) or last run finished (plain), DB clock, ms. */
  doneMs: number;
  /** The INSERT statement itself (host clock): expansion and first release happen inside it. */
  createMs: number;
  advanceCalls: number;
  summary: string | null;
  emptyClaims: number;
}

/** Enrol `count` agents with labels role=web and the collect-facts playbook, through ccm.enroll_agent. */
async function enrolWebAgents(pool: Pool, count: number): Promise<string[]> {
  const store = new PgAgentStore(pool);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(
      await store.enroll({
        host: `bench-web-${String(i).padStart(4, "0")}`,
        aliases: [],
        labels: { role: "web" },
        version: "bench",
        playbooks: [PLAYBOOK],
        facts: {},
      }),
    );
  }
  return ids;
}

async function resetRuns(pool: Pool): Promise<void> {
  await pool.query("truncate ccm.broadcasts, ccm.run_steps, ccm.runs, ccm.tasks, ccm.notifications cascade");
  await pool.query("analyze ccm.tasks, ccm.runs, ccm.agents");
}

/**
 * LOOPS claim loops on a pool of as many connections; loop w walks agents w, w+LOOPS, … round-robin
 * (claim_runs(agent, 1, 30) → start_run → finish_run(succeeded)) until `expected` runs are done.
 */
function startLoops(pool: Pool, agentIds: readonly string[], expected: number): { done: Promise<void>; stop(): void; emptyClaims(): number } {
  const store = new PgAgentStore(pool);
  let finished = 0;
  let empty = 0;
  let stopped = false;
  const loop = async (w: number): Promise<void> => {
    const mine = agentIds.filter((_, i) => i % LOOPS === w);
    while (!stopped && finished < expected) {
      for (const agent of mine) {
        if (stopped || finished >= expected) return;
        const [run] = await store.claimRuns(agent, 1, 30);
        if (!run) {
          empty++;
          continue;
        }
        if (!(await store.startRun(run.run_id, agent, PLAYBOOK, true, false))) throw new Error(`start_run refused run ${run.run_id}`);
        if (!(await store.finishRun(run.run_id, agent, "succeeded", "bench: no-op", null))) throw new Error(`finish_run refused run ${run.run_id}`);
        finished++;
      }
    }
  };
  const all = Promise.all(Array.from({ length: LOOPS }, (_, w) => loop(w))).then(() => undefined);
  return {
    done: all,
    stop: () => {
      stopped = true;
    },
    emptyClaims: () => empty,
  };
}

async function withTimeout<T>(p: Promise<T>, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what}: not done within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function broadcastRun(ctx: BenchContext, agentIds: readonly string[], loopPool: Pool, advancePool: Pool): Promise<FanoutRun> {
  await resetRuns(ctx.pool);
  let advanceCalls = 0;
  let advancing = true;
  const advancer = (async () => {
    while (advancing) {
      await advanceBroadcasts(advancePool);
      advanceCalls++;
      await sleep(ADVANCE_MS);
    }
  })();
  const t0 = performance.now();
  const b = await createBroadcast(ctx.pool, {
    playbook: PLAYBOOK,
    selector: { labels: { role: "web" } },
    canary: 0,
    batch: "100%",
    created_by: "bench",
  });
  const createMs = performance.now() - t0;
  if (b.targeted !== agentIds.length) throw new Error(`broadcast targeted ${b.targeted}, expected ${agentIds.length}`);
  // The claim loops start right after creation returns, as agents woken by its NOTIFYs would.
  const fleet = startLoops(loopPool, agentIds, agentIds.length);
  try {
    await withTimeout(fleet.done, "broadcast claim loops", fleet.stop);
    await withTimeout(
      (async () => {
        for (;;) {
          const { rows } = await ctx.pool.query<{ f: Date | null }>("select finished_at as f from ccm.broadcasts where id = $1", [b.id]);
          if (rows[0]?.f) return;
          await sleep(10);
        }
      })(),
      "broadcast summary",
      () => undefined,
    );
  } finally {
    fleet.stop();
    advancing = false;
    await advancer;
  }
  const { rows } = await ctx.pool.query<{ d: number }>(
    `select extract(epoch from (r.claimed_at - b.created_at)) * 1000 as d
       from ccm.runs r join ccm.tasks t on t.id = r.task_id join ccm.broadcasts b on b.id = t.broadcast_id
      where b.id = $1 and r.status = 'succeeded'`,
    [b.id],
  );
  const { rows: br } = await ctx.pool.query<{ done: number; summary: string | null }>(
    "select extract(epoch from (finished_at - created_at)) * 1000 as done, summary from ccm.broadcasts where id = $1",
    [b.id],
  );
  const claimDelayMs = rows.map((r) => Number(r.d));
  if (claimDelayMs.length !== agentIds.length) throw new Error(`${claimDelayMs.length} of ${agentIds.length} broadcast runs succeeded`);
  return {
    mode: "broadcast",
    claimDelayMs,
    allClaimedMs: Math.max(...claimDelayMs),
    doneMs: Number(br[0]?.done),
    createMs,
    advanceCalls,
    summary: br[0]?.summary ?? null,
    emptyClaims: fleet.emptyClaims(),
  };
}

async function plainRun(ctx: BenchContext, agentIds: readonly string[], loopPool: Pool): Promise<FanoutRun> {
  await resetRuns(ctx.pool);
  const t0 = performance.now();
  await seedQueuedRuns(ctx.pool, agentIds, agentIds.length);
  const createMs = performance.now() - t0;
  const fleet = startLoops(loopPool, agentIds, agentIds.length);
  try {
    await withTimeout(fleet.done, "plain claim loops", fleet.stop);
  } finally {
    fleet.stop();
  }
  const { rows } = await ctx.pool.query<{ d: number; f: number }>(
    `select extract(epoch from (claimed_at - created_at)) * 1000 as d, extract(epoch from (finished_at - created_at)) * 1000 as f
       from ccm.runs where status = 'succeeded'`,
  );
  const claimDelayMs = rows.map((r) => Number(r.d));
  if (claimDelayMs.length !== agentIds.length) throw new Error(`${claimDelayMs.length} of ${agentIds.length} plain runs succeeded`);
  return {
    mode: "plain",
    claimDelayMs,
    allClaimedMs: Math.max(...claimDelayMs),
    doneMs: Math.max(...rows.map((r) => Number(r.f))),
    createMs,
    advanceCalls: 0,
    summary: null,
    emptyClaims: fleet.emptyClaims(),
  };
}

const median = (xs: number[]): number => summarize(xs).median;
const list = (xs: number[]): string => xs.map((v) => fmt(v)).join(", ");

export const broadcastFanout: Benchmark = {
  name: "broadcast-fanout",
  measures:
    `A broadcast (playbook ${PLAYBOOK}, selector role=web, canary 0, batch 100%) to ${AGENTS} agents enrolled through ccm.enroll_agent, ` +
    `created with createBroadcast (the INSERT into ccm.broadcasts that expands and releases in its triggers), ccm.advance_broadcasts() ` +
    `called every ${ADVANCE_MS} ms (the hub: every 1 s), and ${LOOPS} claim loops on ${LOOPS} connections walking the agents round-robin ` +
    `(claim_runs(agent,1,30) → start_run → finish_run(succeeded)). Creation → every run claimed, and → summary written on the row, DB clock. ` +
    `Baseline: the same number of plain queued runs inserted directly, claimed by the same loops. ${RUNS} runs each, interleaved.`,

  async run(ctx) {
    const agentIds = await enrolWebAgents(ctx.pool, AGENTS);
    ctx.progress(`broadcast-fanout: enrolled ${agentIds.length} agents`);
    const loopPool = createPool(ctx.databaseUrl, { max: LOOPS, applicationName: "ccm-bench-fanout-loops" });
    const advancePool = createPool(ctx.databaseUrl, { max: 1, applicationName: "ccm-bench-fanout-advance" });
    const unregister = ctx.onCleanup(async () => {
      await loopPool.end().catch(() => undefined);
      await advancePool.end().catch(() => undefined);
    });
    const runs: FanoutRun[] = [];
    try {
      await warmPool(loopPool, LOOPS);
      for (let i = 1; i <= RUNS; i++) {
        for (const mode of ["broadcast", "plain"] as const) {
          const r = mode === "broadcast" ? await broadcastRun(ctx, agentIds, loopPool, advancePool) : await plainRun(ctx, agentIds, loopPool);
          runs.push(r);
          ctx.progress(
            `broadcast-fanout run ${i}/${RUNS} ${mode}: create ${fmt(r.createMs)} ms, all claimed ${fmt(r.allClaimedMs)} ms, done ${fmt(r.doneMs)} ms` +
              (r.summary ? ` (${r.summary})` : ""),
          );
        }
      }
    } finally {
      await loopPool.end().catch(() => undefined);
      await advancePool.end().catch(() => undefined);
      unregister();
    }
    await resetRuns(ctx.pool);

    const of = (mode: FanoutRun["mode"]): FanoutRun[] => runs.filter((r) => r.mode === mode);
    const dist = (rs: FanoutRun[]) => {
      const sorted = rs.flatMap((r) => r.claimDelayMs).sort((a, b) => a - b);
      return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] ?? Number.NaN, n: sorted.length };
    };
    const bc = of("broadcast");
    const pl = of("plain");
    const bd = dist(bc);
    const pd = dist(pl);
    const bAll = median(bc.map((r) => r.allClaimedMs));
    const pAll = median(pl.map((r) => r.allClaimedMs));
    const bDone = median(bc.map((r) => r.doneMs));
    const pDone = median(pl.map((r) => r.doneMs));
    const n = AGENTS.toLocaleString("en-US");
    const rows: ResultRow[] = [
      {
        case: `${n} agents, ${LOOPS} claim loops: creation → every run claimed (DB clock; median of ${RUNS})`,
        ccm:
          `broadcast: ${fmt(bAll)} ms (runs: ${list(bc.map((r) => r.allClaimedMs))}); per-run claim delay p50 ${fmt(bd.p50)}, p95 ${fmt(bd.p95)}, ` +
          `max ${fmt(bd.max)} ms (n=${bd.n}); the INSERT (expansion + release) ${fmt(median(bc.map((r) => r.createMs)))} ms`,
        baseline:
          `${n} plain queued runs: ${fmt(pAll)} ms (runs: ${list(pl.map((r) => r.allClaimedMs))}); per-run p50 ${fmt(pd.p50)}, p95 ${fmt(pd.p95)}, ` +
          `max ${fmt(pd.max)} ms; the insert ${fmt(median(pl.map((r) => r.createMs)))} ms`,
        ratio: ratio(bAll, pAll),
        ratioOf: "median time to all claimed, broadcast / plain",
      },
      {
        case: `${n} agents: creation → summary on the broadcast row (advance_broadcasts every ${ADVANCE_MS} ms)`,
        ccm: `${fmt(bDone)} ms (runs: ${list(bc.map((r) => r.doneMs))}); summary "${bc[0]?.summary ?? "none"}"`,
        baseline: `plain runs: last run finished at ${fmt(pDone)} ms (runs: ${list(pl.map((r) => r.doneMs))})`,
        ratio: ratio(bDone, pDone),
        ratioOf: "median time to done, broadcast / plain",
      },
    ];
    const warnings = bc.filter((r) => !r.summary?.startsWith(`${AGENTS}/${AGENTS} succeeded`)).map((r) => `broadcast-fanout: summary was "${r.summary}"`);
    return { rows, warnings, details: { agents: AGENTS, loops: LOOPS, advanceMs: ADVANCE_MS, broadcastClaimDelayMs: bd, plainClaimDelayMs: pd, runs: runs.map(({ claimDelayMs: _d, ...r }) => r) } };
  },
};
