import { freeConnections, resetData } from "./bench-db.ts";
import { sampleClaimLatency } from "./claim-samples.ts";
import { startBenchHub } from "./hub-server.ts";
import { enrolAgents } from "./seed-runs.ts";
import { startSimulatedFleet } from "./simulated-fleet.ts";
import { fmt, ratio, sleep, summarize, type Summary } from "./stats.ts";
import type { BenchContext, Benchmark, ResultRow } from "./types.ts";

const SAMPLES = Number(process.env.CCM_BENCH_SAMPLES ?? 100);
const WARMUP = 10;
const FLEET = Number(process.env.CCM_BENCH_FLEET ?? 1_000);
const POOL_MAX = 8;
const POLL_MS = 5_000;
// What a real agent holds while idle (claim-latency measures it): one pool connection + its LISTEN connection.
const REAL_AGENT_CONNECTIONS = 2;
const gapMs = (): number => 30 + Math.random() * 20;

interface CaseResult {
  agents: number;
  /** Fleet connections seen in pg_stat_activity during the case. */
  connections: number;
  receivedToClaimedMs: Summary;
  sentToClaimedMs: Summary;
  /** claim_runs calls per second over the case (wake-ups + polls). */
  claimCallsPerSecond: number;
  unclaimed: number;
  absorbed: number;
  errors: number;
  firstError?: string;
}

async function fleetConnections(ctx: BenchContext): Promise<number> {
  const { rows } = await ctx.pool.query<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like 'ccm-bench-fleet-%'",
  );
  return rows[0]?.n ?? 0;
}

async function measureCase(ctx: BenchContext, hubUrl: string, agents: number): Promise<CaseResult> {
  await resetData(ctx.pool);
  const prefix = `bench-sim-${agents}`;
  const ids = await enrolAgents(ctx.pool, prefix, agents);
  const hosts = ids.map((_, i) => `${prefix}-${String(i).padStart(4, "0")}`);
  const fleet = await startSimulatedFleet(ctx.databaseUrl, ids, { poolMax: POOL_MAX, pollMs: POLL_MS, leaseSeconds: 30 });
  const untrack = ctx.onCleanup(() => fleet.stop());
  try {
    // One poll interval first, so every agent's poll is running when sampling starts.
    await sleep(POLL_MS);
    const calls0 = fleet.stats().claimCalls;
    const t0 = performance.now();
    const r = await sampleClaimLatency(ctx.pool, { hubUrl, hosts, tag: `sim${agents}`, warmup: WARMUP, samples: SAMPLES, gapMs });
    const elapsedS = (performance.now() - t0) / 1000;
    const connections = await fleetConnections(ctx);
    const s = fleet.stats();
    return {
      agents,
      connections,
      receivedToClaimedMs: summarize(r.receivedToClaimedMs),
      sentToClaimedMs: summarize(r.sentToClaimedMs),
      claimCallsPerSecond: (s.claimCalls - calls0) / elapsedS,
      unclaimed: r.unclaimed,
      absorbed: r.absorbed,
      errors: s.errors,
      ...(s.firstError ? { firstError: s.firstError } : {}),
    };
  } finally {
    untrack();
    await fleet.stop();
  }
}

const dist = (s: Summary): string => `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms (n=${s.n})`;

export const claimLatency1000: Benchmark = {
  name: "claim-latency-1000",
  measures:
    `Webhook → run claimed with ${FLEET.toLocaleString("en-US")} enrolled agents simulated in the bench process: one connection LISTENs ` +
    `on every agent's channel (ccm.agent_channel), a pool of ${POOL_MAX} connections runs each woken agent's ccm.claim_runs(agent, 1, 30) ` +
    `(then ccm.finish_run escalated, as an agent without a matching playbook), and every agent also polls every ${POLL_MS / 1000} s, ` +
    `staggered. Webhooks through the real hub app (in-process, HTTP on loopback) to random hosts, ${WARMUP} warm-up + ${SAMPLES} ` +
    `samples 30–50 ms apart. Baseline: the same harness with 1 agent.`,

  async run(ctx) {
    const warnings: string[] = [];
    const hub = await startBenchHub(ctx.databaseUrl, 2);
    const untrack = ctx.onCleanup(() => hub.close());
    const cases: CaseResult[] = [];
    let limits: Awaited<ReturnType<typeof freeConnections>> | undefined;
    try {
      limits = await freeConnections(ctx.pool);
      for (const agents of [1, FLEET]) {
        const r = await measureCase(ctx, hub.url, agents);
        cases.push(r);
        ctx.progress(
          `claim-latency-1000 ${agents} agent(s): received→claimed p50 ${fmt(r.receivedToClaimedMs.p50)} ms p99 ${fmt(r.receivedToClaimedMs.p99)} ms ` +
            `max ${fmt(r.receivedToClaimedMs.max)} ms; ${fmt(r.claimCallsPerSecond)} claim calls/s; ${r.connections} connections`,
        );
        if (r.unclaimed > 0) warnings.push(`claim-latency-1000 ${agents} agents: ${r.unclaimed} of ${SAMPLES} runs not claimed within 15 s`);
        if (r.absorbed > 0) warnings.push(`claim-latency-1000 ${agents} agents: ${r.absorbed} webhooks absorbed (previous run on that host not finished within the gap), re-sent`);
        if (r.errors > 0) warnings.push(`claim-latency-1000 ${agents} agents: ${r.errors} claim-loop errors; first: ${r.firstError}`);
      }
    } finally {
      untrack();
      await hub.close();
    }
    const [one, many] = cases as [CaseResult, CaseResult];
    const realNeed = FLEET * REAL_AGENT_CONNECTIONS;
    const label = (c: CaseResult): string =>
      `${c.agents.toLocaleString("en-US")} simulated agents (${c.connections} DB connections; ${fmt(c.claimCallsPerSecond)} claim calls/s)`;
    const rows: ResultRow[] = [
      {
        case: `${label(many)}: alert received → run claimed (DB clock)`,
        ccm: dist(many.receivedToClaimedMs),
        baseline: `same harness, 1 agent: ${dist(one.receivedToClaimedMs)}`,
        ratio: ratio(many.receivedToClaimedMs.p50, one.receivedToClaimedMs.p50),
        ratioOf: "p50 latency, 1,000 agents / 1 agent",
      },
      {
        case: `${label(many)}: webhook sent → run claimed`,
        ccm: dist(many.sentToClaimedMs),
        baseline: `same harness, 1 agent: ${dist(one.sentToClaimedMs)}`,
        ratio: ratio(many.sentToClaimedMs.p50, one.sentToClaimedMs.p50),
        ratioOf: "p50 latency, 1,000 agents / 1 agent",
      },
      {
        case: `${label(many)}: alert received → run claimed, tail`,
        ccm: `p99 ${fmt(many.receivedToClaimedMs.p99)} ms`,
        baseline: `1 agent: p99 ${fmt(one.receivedToClaimedMs.p99)} ms`,
        ratio: ratio(many.receivedToClaimedMs.p99, one.receivedToClaimedMs.p99),
        ratioOf: "p99 latency, 1,000 agents / 1 agent",
      },
    ];
    return {
      rows,
      warnings,
      details: {
        samples: SAMPLES,
        warmup: WARMUP,
        poolMax: POOL_MAX,
        pollMs: POLL_MS,
        cases,
        connectionFinding: {
          realAgentConnections: REAL_AGENT_CONNECTIONS,
          realFleetWouldNeed: realNeed,
          postgresMaxConnections: limits?.max,
          simulatedFleetUses: many.connections,
        },
      },
    };
  },
};
