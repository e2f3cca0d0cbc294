import { resetData } from "./bench-db.ts";
import { drainWithCcm, type DrainResult } from "./ccm-workers.ts";
import { drainWithGraphile, GRAPHILE_SCHEMA, migrateGraphile, seedGraphileJobs } from "./graphile-baseline.ts";
import { enrolAgents, seedQueuedRuns } from "./seed-runs.ts";
import { fmt, ratio, summarize, type Summary } from "./stats.ts";
import type { BenchContext, Benchmark, ResultRow } from "./types.ts";

const JOBS = Number(process.env.CCM_BENCH_JOBS ?? 1_000);
const RUNS = Number(process.env.CCM_BENCH_THROUGHPUT_RUNS ?? 3);
const WORKERS = [1, 4, 16];
// Contention only shows with many claimers (at 4 workers contended and spread ran alike in trials).
const CONTENDED_WORKERS = [16];
// As many agents as the most workers: at 16 workers each works its own agent's queue (like 16
// hosts), at 4 each works 4 agents one after the other, at 1 one worker walks all 16.
const SPREAD_AGENTS = 16;

type Mode = "spread" | "contended" | "graphile";

interface CaseRuns {
  mode: Mode;
  workers: number;
  /** jobs per second of each run. */
  perSecond: number[];
  perSecondSummary: Summary;
  cycleMs?: Summary;
  /** p50 of each call of the cycle, ms. */
  stepP50Ms?: { claim: number; start: number; finish: number };
}

/** Worker w works agents w, w + W, w + 2W, …; contended: every worker on the one agent. */
function assign(agentIds: readonly string[], workers: number): string[][] {
  return Array.from({ length: workers }, (_, w) => agentIds.filter((_, i) => i % workers === w));
}

async function ccmRun(ctx: BenchContext, mode: "spread" | "contended", workers: number): Promise<DrainResult> {
  await resetData(ctx.pool);
  const agents = await enrolAgents(ctx.pool, `bench-tp-${mode}`, mode === "spread" ? SPREAD_AGENTS : 1);
  await seedQueuedRuns(ctx.pool, agents, JOBS);
  const plan = mode === "spread" ? assign(agents, workers) : Array.from({ length: workers }, () => agents);
  const r = await drainWithCcm(ctx.databaseUrl, plan);
  const { rows } = await ctx.pool.query<{ n: number }>("select count(*)::int as n from ccm.runs where status = 'succeeded'");
  if (r.done !== JOBS || rows[0]?.n !== JOBS) throw new Error(`ccm ${mode} ${workers}: finished ${r.done}, ${rows[0]?.n} succeeded, of ${JOBS}`);
  return r;
}

async function graphileRun(ctx: BenchContext, workers: number): Promise<DrainResult> {
  await ctx.pool.query(`truncate ${GRAPHILE_SCHEMA}._private_jobs, ${GRAPHILE_SCHEMA}._private_job_queues cascade`);
  await seedGraphileJobs(ctx.databaseUrl, JOBS);
  const r = await drainWithGraphile(ctx.databaseUrl, workers, JOBS);
  const { rows } = await ctx.pool.query<{ n: number }>(`select count(*)::int as n from ${GRAPHILE_SCHEMA}._private_jobs`);
  if (rows[0]?.n !== 0) throw new Error(`graphile-worker ${workers}: ${rows[0]?.n} jobs left in the queue`);
  return r;
}

const perSec = (r: DrainResult): number => (r.done / r.elapsedMs) * 1000;
const runsList = (c: CaseRuns): string => c.perSecond.map((v) => fmt(v)).join(", ");

function describe(c: CaseRuns): string {
  const s = c.perSecondSummary;
  const steps = c.stepP50Ms ? ` (p50 claim ${fmt(c.stepP50Ms.claim)}, start ${fmt(c.stepP50Ms.start)}, finish ${fmt(c.stepP50Ms.finish)} ms)` : "";
  const cycle = c.cycleMs ? `; per run claim → start → finish p50 ${fmt(c.cycleMs.p50)} ms, p99 ${fmt(c.cycleMs.p99)} ms${steps}` : "";
  return `median ${fmt(s.median)} runs/s (${RUNS} runs: ${runsList(c)})${cycle}`;
}

export const claimThroughput: Benchmark = {
  name: "claim-throughput",
  measures:
    `Runs claimed and finished per second by 1, 4 and 16 workers, each a loop of ccm.claim_runs(agent, 1, 30) → ccm.start_run → ` +
    `ccm.finish_run(succeeded) through PgAgentStore on its own pool connection, no-op work, ${JOBS} seeded runs per run, ` +
    `${RUNS} runs per case. Spread: runs dealt over ${SPREAD_AGENTS} agents, worker w works agents w, w+W, …; contended: ` +
    `every worker on one agent identity. Baseline: graphile-worker run() at the same concurrency draining ${JOBS} no-op jobs ` +
    `(bulk addJobs, pollInterval 100 ms, pool of concurrency + 1) in its own schema of the same database, interleaved with the ccm runs.`,

  async run(ctx) {
    await migrateGraphile(ctx.databaseUrl);
    const results = new Map<string, { mode: Mode; workers: number; runs: DrainResult[] }>();
    const record = (mode: Mode, workers: number, r: DrainResult): void => {
      const key = `${mode}-${workers}`;
      const entry = results.get(key) ?? { mode, workers, runs: [] };
      entry.runs.push(r);
      results.set(key, entry);
      ctx.progress(`claim-throughput run ${entry.runs.length}/${RUNS} ${mode} × ${workers}: ${fmt(perSec(r))} jobs/s (${fmt(r.elapsedMs)} ms)`);
    };
    // Interleaved so that drift on a shared machine touches every case alike.
    for (let run = 1; run <= RUNS; run++) {
      for (const workers of WORKERS) {
        record("spread", workers, await ccmRun(ctx, "spread", workers));
        if (CONTENDED_WORKERS.includes(workers)) record("contended", workers, await ccmRun(ctx, "contended", workers));
        record("graphile", workers, await graphileRun(ctx, workers));
      }
    }
    await resetData(ctx.pool);

    const cases: CaseRuns[] = [...results.values()].map(({ mode, workers, runs }) => {
      const perSecond = runs.map(perSec);
      const cycles = runs.flatMap((r) => r.cycleMs);
      const p50 = (k: "claim" | "start" | "finish"): number => summarize(runs.flatMap((r) => r.stepMs?.[k] ?? [])).p50;
      return {
        mode,
        workers,
        perSecond,
        perSecondSummary: summarize(perSecond),
        ...(cycles.length ? { cycleMs: summarize(cycles), stepP50Ms: { claim: p50("claim"), start: p50("start"), finish: p50("finish") } } : {}),
      };
    });
    const find = (mode: Mode, workers: number): CaseRuns | undefined => cases.find((c) => c.mode === mode && c.workers === workers);
    const rows: ResultRow[] = [];
    for (const workers of WORKERS) {
      const g = find("graphile", workers);
      if (!g) continue;
      const baseline = `graphile-worker ${g.workers === 1 ? "concurrency 1" : `concurrency ${g.workers}`}: median ${fmt(g.perSecondSummary.median)} jobs/s (${RUNS} runs: ${runsList(g)})`;
      const cased: Array<[CaseRuns | undefined, string]> = [
        [find("spread", workers), `${workers} worker${workers === 1 ? "" : "s"}, runs spread over ${SPREAD_AGENTS} agents`],
        [find("contended", workers), `${workers} workers, all on one agent (contended)`],
      ];
      for (const [c, label] of cased) {
        if (!c) continue;
        rows.push({
          case: `${label}, ${JOBS.toLocaleString("en-US")} no-op runs`,
          ccm: describe(c),
          baseline,
          ratio: ratio(c.perSecondSummary.median, g.perSecondSummary.median),
          ratioOf: "median throughput, ccm / graphile-worker",
        });
      }
    }
    return { rows, warnings: [], details: { jobs: JOBS, runs: RUNS, spreadAgents: SPREAD_AGENTS, cases } };
  },
};
