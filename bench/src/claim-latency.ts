import { parseAgentConfig, startAgent, type AgentConfig, type RunningAgent } from "@ccm/agent";
import { createLogger } from "@ccm/logger";
import type { Pool } from "@ccm/store";
import { freeConnections, resetData } from "./bench-db.ts";
import { sampleClaimLatency } from "./claim-samples.ts";
import { discardLogs, startBenchHub } from "./hub-server.ts";
import { notifyRoundTrips } from "./notify-baseline.ts";
import { fmt, ratio, sleep, summarize, type Summary } from "./stats.ts";
import type { BenchContext, Benchmark, ResultRow } from "./types.ts";

const SAMPLES = Number(process.env.CCM_BENCH_SAMPLES ?? 100);
const WARMUP = 10;
const REQUESTED_AGENTS = [1, Number(process.env.CCM_BENCH_AGENTS ?? 50)];
// Connection slots left to whoever else uses this Postgres (tests running next to the bench).
const HEADROOM = Number(process.env.CCM_BENCH_PG_HEADROOM ?? 25);
// An idle agent holds one pool connection and its LISTEN connection (measured; the pool may open up to 3).
const CONNECTIONS_PER_AGENT = 2;
const gapMs = (): number => 30 + Math.random() * 20;

/** Through the agent's own parser, so keys added to the agent config get their defaults here too. */
function agentConfig(host: string, databaseUrl: string): AgentConfig {
  const raw = {
    host,
    dry_run: true,
    // The slow poll stays at its maximum so what we time is the NOTIFY wake-up.
    poll_interval_ms: 5_000,
    lease_seconds: 30,
    heartbeat_interval_ms: 15_000,
    shutdown_grace_ms: 1_000,
    concurrency: 1,
  };
  return parseAgentConfig(raw, [], { DATABASE_URL: databaseUrl }, "bench claim-latency agent");
}

async function waitForListeners(pool: Pool, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name = 'ccm-agent-listen'
          and state = 'idle' and query ilike 'listen %'`,
    );
    if ((rows[0]?.n ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${rows[0]?.n} of ${count} agents are listening after 30 s`);
    await sleep(100);
  }
}

async function agentConnections(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and (application_name like 'ccm-agent:%' or application_name = 'ccm-agent-listen')`,
  );
  return rows[0]?.n ?? 0;
}

interface CaseResult {
  agents: number;
  agentConnections: number;
  notifyRoundTripMs: Summary;
  receivedToClaimedMs: Summary;
  sentToClaimedMs: Summary;
}

async function measureCase(ctx: BenchContext, hubUrl: string, agentCount: number, warnings: string[]): Promise<CaseResult> {
  await resetData(ctx.pool);
  const baseline = await notifyRoundTrips(ctx.databaseUrl, agentCount, SAMPLES, WARMUP, gapMs);

  const hosts = Array.from({ length: agentCount }, (_, i) => `bench-claim-${agentCount}-${i}`);
  const log = createLogger("ccm-agent", { level: "info", destination: discardLogs });
  const agents: RunningAgent[] = [];
  const stopAgents = async (): Promise<void> => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  };
  const untrack = ctx.onCleanup(stopAgents);
  try {
    for (let i = 0; i < hosts.length; i += 10) {
      agents.push(...(await Promise.all(hosts.slice(i, i + 10).map((h) => startAgent(agentConfig(h, ctx.databaseUrl), [], log)))));
    }
    await waitForListeners(ctx.pool, agentCount);

    const r = await sampleClaimLatency(ctx.pool, { hubUrl, hosts, tag: `claim${agentCount}`, warmup: WARMUP, samples: SAMPLES, gapMs });
    if (r.unclaimed > 0) warnings.push(`claim-latency ${agentCount} agents: ${r.unclaimed} of ${SAMPLES} runs not claimed within 15 s`);
    if (r.absorbed > 0) warnings.push(`claim-latency ${agentCount} agents: ${r.absorbed} webhooks absorbed (previous run on that host not finished within the gap), re-sent`);
    const connections = await agentConnections(ctx.pool);
    return {
      agents: agentCount,
      agentConnections: connections,
      notifyRoundTripMs: summarize(baseline),
      receivedToClaimedMs: summarize(r.receivedToClaimedMs),
      sentToClaimedMs: summarize(r.sentToClaimedMs),
    };
  } finally {
    untrack();
    await stopAgents();
  }
}

const dist = (s: Summary): string => `median ${fmt(s.median)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms (n=${s.n})`;

export const claimLatency: Benchmark = {
  name: "claim-latency",
  measures:
    `Time from an Alertmanager webhook to the run being claimed by a real agent (startAgent in the bench process: ` +
    `LISTEN wake-up, ccm.claim_runs; 5 s poll so the wake-up is what is timed), with 1 agent and with many agents ` +
    `(alerts to random hosts), ${SAMPLES} samples each, 30–50 ms apart. "received → claimed" is alerts.received_at → ` +
    `runs.claimed_at on the database clock; "sent → claimed" starts when the client sends the POST. ` +
    `Baseline: a bare pg_notify → LISTEN round-trip on the same Postgres with the same number of listening connections.`,

  async run(ctx) {
    const rows: ResultRow[] = [];
    const warnings: string[] = [];
    const cases: CaseResult[] = [];
    const hub = await startBenchHub(ctx.databaseUrl, 2);
    const untrack = ctx.onCleanup(() => hub.close());
    try {
      for (const requested of REQUESTED_AGENTS) {
        const { max, used, free } = await freeConnections(ctx.pool);
        // 2: the hub pool of this benchmark.
        const fit = Math.max(1, Math.floor((free - HEADROOM - 2) / CONNECTIONS_PER_AGENT));
        const agents = Math.min(requested, fit);
        if (agents < requested) {
          const msg =
            `claim-latency: ${requested} agents requested, ran ${agents}: Postgres max_connections=${max} with ${used} in use ` +
            `and ${HEADROOM} left for others; each agent holds ${CONNECTIONS_PER_AGENT} connections (pool + LISTEN)`;
          warnings.push(msg);
          ctx.progress(`warning: ${msg}`);
        }
        const r = await measureCase(ctx, hub.url, agents, warnings);
        cases.push(r);
        ctx.progress(
          `claim-latency ${agents} agent(s): received→claimed median ${fmt(r.receivedToClaimedMs.median)} ms p99 ${fmt(r.receivedToClaimedMs.p99)} ms; ` +
            `sent→claimed median ${fmt(r.sentToClaimedMs.median)} ms; NOTIFY round-trip median ${fmt(r.notifyRoundTripMs.median)} ms; ` +
            `${r.agentConnections} agent connections`,
        );
        const label =
          `${agents} agent${agents === 1 ? "" : "s"} (${r.agentConnections} DB connections` +
          `${agents < requested ? `; ${requested} requested, see caveats` : ""})`;
        rows.push(
          {
            case: `${label}: alert received → run claimed (DB clock)`,
            ccm: dist(r.receivedToClaimedMs),
            baseline: `NOTIFY round-trip, ${agents} listener${agents === 1 ? "" : "s"}: ${dist(r.notifyRoundTripMs)}`,
            ratio: ratio(r.receivedToClaimedMs.median, r.notifyRoundTripMs.median),
            ratioOf: "median latency, ccm / NOTIFY",
          },
          {
            case: `${label}: webhook sent → run claimed`,
            ccm: dist(r.sentToClaimedMs),
            baseline: `same NOTIFY round-trip (median ${fmt(r.notifyRoundTripMs.median)} ms)`,
            ratio: ratio(r.sentToClaimedMs.median, r.notifyRoundTripMs.median),
            ratioOf: "median latency, ccm / NOTIFY",
          },
        );
      }
    } finally {
      untrack();
      await hub.close();
    }
    return { rows, warnings, details: { samples: SAMPLES, warmup: WARMUP, headroom: HEADROOM, cases } };
  },
};
