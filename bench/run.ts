import { mkdtemp, rm } from "node:fs/promises";
// `pnpm bench [name...]`: every benchmark (or the named ones) on a throw-away database.
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { agentIdleRss } from "./src/agent-idle-rss.ts";
import { broadcastFanout } from "./src/broadcast-fanout.ts";
import { createBenchDatabase, DEFAULT_ADMIN_URL, type BenchDatabase } from "./src/bench-db.ts";
import { claimLatency } from "./src/claim-latency.ts";
import { claimLatency1000 } from "./src/claim-latency-1000.ts";
import { claimThroughput } from "./src/claim-throughput.ts";
import { dbCall } from "./src/db-call.ts";
import { deadAgentRecovery } from "./src/dead-agent-recovery.ts";
import { digest } from "./src/digest.ts";
import { diskFull10k } from "./src/disk-full-10k.ts";
import { hubFootprint1000 } from "./src/hub-footprint-1000.ts";
import { ingest } from "./src/ingest.ts";
import { machineInfo } from "./src/machine.ts";
import { outageRecovery } from "./src/outage-recovery.ts";
import { markdownTable, mergeResults, writeReadme } from "./src/report.ts";
import type { BenchContext, BenchResult, Benchmark } from "./src/types.ts";

const BENCHMARKS: Benchmark[] = [ingest, claimLatency, claimLatency1000, claimThroughput, deadAgentRecovery, agentIdleRss, broadcastFanout, digest, diskFull10k, hubFootprint1000, outageRecovery, dbCall];
const HERE = path.dirname(fileURLToPath(import.meta.url));

const progress = (line: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

const cleanups = new Set<() => Promise<void> | void>();
let db: BenchDatabase | undefined;

let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Undo everything still registered, newest first, then drop the database. Every caller awaits the same work. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of [...cleanups].reverse()) {
      cleanups.delete(fn);
      await Promise.resolve()
        .then(fn)
        .catch((err: unknown) => console.error("cleanup failed:", err));
    }
    if (db) {
      const name = db.name;
      await db.drop().then(
        () => progress(`dropped database ${name}`),
        (err: unknown) => console.error(`could not drop database ${name}:`, err),
      );
    }
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    progress(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(names: string[]): Promise<number> {
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
    return 2;
  }
  const selected = names.length > 0 ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  const adminUrl = process.env.CCM_BENCH_DATABASE_URL || DEFAULT_ADMIN_URL;

  db = await createBenchDatabase(adminUrl);
  progress(`database ${db.name} created and migrated`);
  // Agents started by benchmarks (in-process or children) keep their lock and journal here, never in /var/lib/ccm.
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "ccm-bench-state-"));
  process.env.CCM_STATE_DIR = stateDir;
  cleanups.add(() => rm(stateDir, { recursive: true, force: true }));
  const ctx: BenchContext = {
    databaseUrl: db.url,
    pool: db.pool,
    progress,
    onCleanup(fn) {
      cleanups.add(fn);
      return () => cleanups.delete(fn);
    },
  };
  const machine = await machineInfo(db.pool);
  progress(`${machine.cpuModel} × ${machine.cores}, ${machine.ramGiB} GiB, node ${machine.node}, PostgreSQL ${machine.postgres}`);

  const results: BenchResult[] = [];
  let failed = 0;
  try {
    for (const b of selected) {
      if (interrupted) break;
      progress(`── ${b.name}`);
      const t0 = performance.now();
      const ranAt = new Date().toISOString();
      try {
        const r = await b.run(ctx);
        results.push({ name: b.name, measures: b.measures, ranAt, durationS: (performance.now() - t0) / 1000, ...r });
        progress(`${b.name} done in ${Math.round((performance.now() - t0) / 1000)} s`);
      } catch (err) {
        if (interrupted) break;
        failed++;
        console.error(`[bench] ${b.name} failed:`, err);
      }
    }
  } finally {
    await cleanUp();
  }

  if (interrupted) return 130;
  machine.loadAverage.end = Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
  if (results.length > 0) {
    const file = path.join(HERE, "results/latest.json");
    const merged = await mergeResults(file, machine, results, BENCHMARKS.map((b) => b.name));
    await writeReadme(path.join(HERE, "README.md"), merged);
    progress(`wrote ${path.relative(process.cwd(), file)} and the table in bench/README.md`);
    console.log(`\n${markdownTable(merged)}\n`);
    for (const w of results.flatMap((r) => r.warnings)) console.log(`warning: ${w}`);
  }
  return failed > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error("[bench] failed:", err);
    await cleanUp();
    process.exit(1);
  },
);
