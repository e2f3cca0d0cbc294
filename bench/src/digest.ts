import { buildDigest, digestMessage } from "@ccm/notify";
import { resetData } from "./bench-db.ts";
import { seedHistory } from "./seed-history.ts";
import { fmt, ratio, summarize, type Summary } from "./stats.ts";
import type { Benchmark, ResultRow } from "./types.ts";

const HISTORY = Number(process.env.CCM_BENCH_HISTORY ?? 100_000);
const SAMPLES = Number(process.env.CCM_BENCH_DIGEST_SAMPLES ?? 10);
const WARMUP = 2;
const OFFLINE_AFTER_S = 300;
const WINDOWS = [
  { label: "24 h window", hours: 24 },
  { label: "30 d window", hours: 24 * 31 },
] as const;

const line = (s: Summary): string => `median ${fmt(s.median)} ms, p99 ${fmt(s.p99)} ms, max ${fmt(s.max)} ms (n=${s.n})`;

export const digest: Benchmark = {
  name: "digest",
  measures:
    `Build time of the morning digest (buildDigest from @ccm/notify: one ccm.digest_report call holding its 12 queries, then digestMessage formats the Slack blocks) over ` +
    `${HISTORY} historical tasks, runs and alerts seeded over 30 days (bench/src/seed-history.ts), ` +
    `for a 24 h and a 30 d window, ${WARMUP} warm-up + ${SAMPLES} samples each, interleaved with the baseline: ` +
    `select count(*) from ccm.runs over the same rows (the cheapest full read).`,

  async run(ctx) {
    const t0 = performance.now();
    await seedHistory(ctx.pool, HISTORY);
    const seedMs = performance.now() - t0;
    ctx.progress(`digest: seeded ${HISTORY.toLocaleString("en-US")} tasks, runs and alerts in ${fmt(seedMs)} ms`);

    const times = new Map<string, number[]>(WINDOWS.map((w) => [w.label, []]));
    const counts: number[] = [];
    const runsInWindow = new Map<string, number>();
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      for (const w of WINDOWS) {
        const end = new Date();
        const start = new Date(end.getTime() - w.hours * 3_600_000);
        const t = performance.now();
        const d = await buildDigest(ctx.pool, start, end, OFFLINE_AFTER_S);
        digestMessage(d, "UTC");
        const ms = performance.now() - t;
        if (i >= WARMUP) times.get(w.label)?.push(ms);
        if (i === 0) {
          const { rows } = await ctx.pool.query<{ n: number }>("select count(*)::int as n from ccm.runs where finished_at >= $1 and finished_at < $2", [start, end]);
          runsInWindow.set(w.label, rows[0]?.n ?? 0);
        }
      }
      const t = performance.now();
      const { rows } = await ctx.pool.query<{ n: number }>("select count(*)::int as n from ccm.runs");
      const ms = performance.now() - t;
      if (i >= WARMUP) counts.push(ms);
      if (rows[0]?.n !== HISTORY) throw new Error(`ccm.runs holds ${rows[0]?.n} rows, seeded ${HISTORY}`);
    }
    await resetData(ctx.pool);

    const base = summarize(counts);
    const rows: ResultRow[] = WINDOWS.map((w) => {
      const s = summarize(times.get(w.label) ?? []);
      return {
        case: `morning digest over ${HISTORY.toLocaleString("en-US")} historical runs, ${w.label} (${(runsInWindow.get(w.label) ?? 0).toLocaleString("en-US")} runs in it)`,
        ccm: `build + format: ${line(s)}`,
        baseline: `select count(*) from ccm.runs (${HISTORY.toLocaleString("en-US")} rows): ${line(base)}`,
        ratio: ratio(s.median, base.median),
        ratioOf: "median time, digest / count(*)",
      };
    });
    return {
      rows,
      warnings: [],
      details: {
        history: HISTORY,
        seedMs,
        samples: SAMPLES,
        digestMs: Object.fromEntries([...times].map(([k, v]) => [k, summarize(v)])),
        runsInWindow: Object.fromEntries(runsInWindow),
        countMs: base,
      },
    };
  },
};
