import { listTasks, pgDb, recoverExpiredLeases } from "@ccm/store";
import { resetData } from "./bench-db.ts";
import { seedHistory } from "./seed-history.ts";
import { fmt, ratio, summarize, type Summary } from "./stats.ts";
import type { Benchmark, ResultRow } from "./types.ts";

const HISTORY = Number(process.env.CCM_BENCH_DB_CALL_HISTORY ?? 5_000);
const SAMPLES = Number(process.env.CCM_BENCH_DB_CALL_SAMPLES ?? 300);
const WARMUP = 20;

const line = (s: Summary): string => `median ${fmt(s.median)} ms, p99 ${fmt(s.p99)} ms (n=${s.n})`;

/**
 * What the hub/CLI `Db` layer costs on the postgres transport: a `ccm.<fn>` call serialized to JSON
 * in the database as PostgREST does it, then parsed with zod, against the same work as a plain
 * pg query returning rows (what the code did before the supabase transport).
 */
export const dbCall: Benchmark = {
  name: "db-call",
  measures:
    `Latency of one hub/CLI call through pgDb (ccm.<fn> with named arguments, json_agg in the database, zod parse) vs the ` +
    `plain pg query it replaced, interleaved, ${WARMUP} warm-up + ${SAMPLES} samples each, over ${HISTORY} seeded tasks: ` +
    `\`ccm tasks list\` (50 newest tasks) and one lease sweep with nothing to recover.`,

  async run(ctx) {
    await seedHistory(ctx.pool, HISTORY);
    const db = pgDb(ctx.pool);
    const cases = [
      {
        label: "ccm tasks list (50 newest)",
        viaDb: () => listTasks(db, { limit: 50 }),
        plain: () =>
          ctx.pool.query(
            `select id, status, host, source, alertname, summary, alert_count, created_at, updated_at, resolved_at
               from ccm.tasks order by created_at desc limit 50`,
          ),
      },
      {
        label: "lease sweep, nothing expired",
        viaDb: () => recoverExpiredLeases(db, 3),
        plain: () => ctx.pool.query("select * from ccm.recover_expired_leases(3)"),
      },
    ];
    const rows: ResultRow[] = [];
    const details: Record<string, unknown> = { history: HISTORY, samples: SAMPLES };
    for (const c of cases) {
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < WARMUP + SAMPLES; i++) {
        let t = performance.now();
        await c.viaDb();
        const viaDb = performance.now() - t;
        t = performance.now();
        await c.plain();
        const plain = performance.now() - t;
        if (i >= WARMUP) {
          a.push(viaDb);
          b.push(plain);
        }
      }
      const sa = summarize(a);
      const sb = summarize(b);
      details[c.label] = { db: sa, plain: sb };
      rows.push({ case: c.label, ccm: `pgDb.call: ${line(sa)}`, baseline: `plain pg query: ${line(sb)}`, ratio: ratio(sa.median, sb.median), ratioOf: "median latency, Db / plain" });
    }
    await resetData(ctx.pool);
    return { rows, warnings: [], details };
  },
};
