import { PgAgentStore } from "@ccm/store";
import { BENCH_TOKEN, CEILING_PATH, startBenchHub, WEBHOOK_PATH } from "./hub-server.ts";
import { resetData } from "./bench-db.ts";
import { runLoad, type LoadResult } from "./load.ts";
import { fmt, ratio, summarize, type Summary } from "./stats.ts";
import type { Benchmark, ResultRow } from "./types.ts";

const RUNS = Number(process.env.CCM_BENCH_RUNS ?? 3);
const DURATION_MS = Number(process.env.CCM_BENCH_DURATION_MS ?? 5_000);
const WARMUP_MS = 1_000;
const CONCURRENCY = 8;
const HOSTS = Array.from({ length: 50 }, (_, i) => `bench-ingest-${String(i).padStart(2, "0")}`);
const SHAPES = [
  { label: "1-alert webhooks", alerts: 1 },
  { label: "100-alert webhooks", alerts: 100 },
];

interface Side {
  /** Requests per second of each run. */
  rps: number[];
  rpsSummary: Summary;
  latencyMs: Summary;
}

/** CPU of this (the hub's) process since `since`, as % of one core. */
function cpuPercent(since: NodeJS.CpuUsage, t0: number): number {
  const u = process.cpuUsage(since);
  return ((u.user + u.system) / 1000 / (performance.now() - t0)) * 100;
}

function side(results: LoadResult[]): Side {
  const rps = results.map((r) => (r.completed / r.windowMs) * 1000);
  return { rps, rpsSummary: summarize(rps), latencyMs: summarize(results.flatMap((r) => r.latenciesMs)) };
}

export const ingest: Benchmark = {
  name: "ingest",
  measures:
    `Alertmanager webhooks accepted per second by the real hub (createHubApp on @hono/node-server, loopback), ` +
    `${CONCURRENCY} keep-alive clients in a separate process for ${DURATION_MS / 1000} s × ${RUNS} runs; every alert has a new ` +
    `fingerprint and routes to one of ${HOSTS.length} enrolled hosts, so each one commits an alert, a task, a run and a NOTIFY. ` +
    `Baseline: a route on the same server that parses the same body and answers 200 without touching the database.`,

  async run(ctx) {
    await resetData(ctx.pool);
    const store = new PgAgentStore(ctx.pool);
    for (const host of HOSTS) {
      await store.enroll({ host, aliases: [], labels: {}, version: "bench", playbooks: [], facts: {} });
    }
    const hub = await startBenchHub(ctx.databaseUrl);
    const untrack = ctx.onCleanup(() => hub.close());
    const track = (kill: () => void) => ctx.onCleanup(kill);
    const rows: ResultRow[] = [];
    const warnings: string[] = [];
    const details: Record<string, unknown> = { concurrency: CONCURRENCY, durationMs: DURATION_MS, runs: RUNS, hosts: HOSTS.length };
    try {
      for (const shape of SHAPES) {
        const ceilingRuns: LoadResult[] = [];
        const cpu: Array<Record<string, unknown>> = [];
        const ccmRuns: LoadResult[] = [];
        for (let run = 1; run <= RUNS; run++) {
          const spec = { concurrency: CONCURRENCY, warmupMs: WARMUP_MS, durationMs: DURATION_MS, alertsPerRequest: shape.alerts, hosts: HOSTS };
          // Interleaved, so drift on a shared machine touches both sides alike.
          const cpuCeiling = process.cpuUsage();
          const t0 = performance.now();
          const ceiling = await runLoad({ ...spec, url: hub.url + CEILING_PATH, token: BENCH_TOKEN, tag: `c${shape.alerts}r${run}` }, track);
          ceilingRuns.push(ceiling);
          const hubCpuCeiling = cpuPercent(cpuCeiling, t0);
          await ctx.pool.query("truncate ccm.run_steps, ccm.runs, ccm.alerts, ccm.tasks cascade");
          const cpuCcm = process.cpuUsage();
          const t1 = performance.now();
          const ccm = await runLoad({ ...spec, url: hub.url + WEBHOOK_PATH, token: BENCH_TOKEN, tag: `h${shape.alerts}r${run}` }, track);
          ccmRuns.push(ccm);
          const hubCpuCcm = cpuPercent(cpuCcm, t1);
          cpu.push({ run, ceiling: { hub: hubCpuCeiling, client: ceiling.clientCpuPercent }, ccm: { hub: hubCpuCcm, client: ccm.clientCpuPercent } });

          for (const [who, r] of [["ceiling", ceiling], ["ccm", ccm]] as const) {
            const bad = Object.entries(r.statuses).filter(([s]) => s !== "200");
            if (r.errors > 0 || bad.length > 0) {
              warnings.push(`ingest ${shape.label} ${who} run ${run}: ${r.errors} errors, statuses ${JSON.stringify(r.statuses)}; first: ${r.firstError}`);
            }
          }
          const accepted = (ccm.statuses["200"] ?? 0) * shape.alerts;
          const { rows: counted } = await ctx.pool.query<{ tasks: number; runs: number }>(
            "select (select count(*)::int from ccm.tasks where status = 'queued') as tasks, (select count(*)::int from ccm.runs where status = 'queued') as runs",
          );
          const c = counted[0] as { tasks: number; runs: number };
          if (c.tasks !== accepted || c.runs !== accepted) {
            warnings.push(`ingest ${shape.label} run ${run}: ${accepted} alerts accepted but ${c.tasks} queued tasks / ${c.runs} queued runs`);
          }
          const rps = (x: LoadResult) => (x.completed / x.windowMs) * 1000;
          ctx.progress(
            `ingest ${shape.label} run ${run}/${RUNS}: ccm ${fmt(rps(ccm))} req/s (${fmt(rps(ccm) * shape.alerts)} alerts/s), ` +
              `ceiling ${fmt(rps(ceiling))} req/s; ${c.tasks} tasks committed; CPU % of a core hub/client: ` +
              `ccm ${fmt(hubCpuCcm)}/${fmt(ccm.clientCpuPercent)}, ceiling ${fmt(hubCpuCeiling)}/${fmt(ceiling.clientCpuPercent)}`,
          );
        }
        const ccm = side(ccmRuns);
        const ceiling = side(ceilingRuns);
        const per = shape.alerts === 1 ? "" : ` = ${fmt(ccm.rpsSummary.median * shape.alerts)} alerts/s`;
        const perCeiling = shape.alerts === 1 ? "" : ` = ${fmt(ceiling.rpsSummary.median * shape.alerts)} alerts/s`;
        rows.push({
          case: `${shape.label}, ${CONCURRENCY} clients (median of ${RUNS} × ${DURATION_MS / 1000} s)`,
          ccm: `${fmt(ccm.rpsSummary.median)} req/s${per}; latency p50 ${fmt(ccm.latencyMs.p50)} ms, p99 ${fmt(ccm.latencyMs.p99)} ms, max ${fmt(ccm.latencyMs.max)} ms`,
          baseline: `${fmt(ceiling.rpsSummary.median)} req/s${perCeiling}; p50 ${fmt(ceiling.latencyMs.p50)} ms, p99 ${fmt(ceiling.latencyMs.p99)} ms`,
          ratio: ratio(ccm.rpsSummary.median, ceiling.rpsSummary.median),
          ratioOf: "throughput, ccm / ceiling",
        });
        details[shape.alerts === 1 ? "single" : "batch100"] = {
          alertsPerRequest: shape.alerts,
          cpuPercentOfOneCore: cpu,
          ccm: { ...ccm, alertsPerSecondMedian: ccm.rpsSummary.median * shape.alerts },
          ceiling: { ...ceiling, alertsPerSecondMedian: ceiling.rpsSummary.median * shape.alerts },
        };
      }
    } finally {
      untrack();
      await hub.close();
    }
    return { rows, warnings, details };
  },
};
