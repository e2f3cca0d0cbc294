import { EventEmitter } from "node:events";
import { Logger, makeWorkerUtils, run, runMigrations, type WorkerEvents } from "graphile-worker";
import { createPool } from "@ccm/store";
import { warmPool, type DrainResult } from "./ccm-workers.ts";

/** graphile-worker lives in its own schema of the bench database, dropped with it. */
export const GRAPHILE_SCHEMA = "graphile_worker";
const silent = new Logger(() => () => undefined);

export async function migrateGraphile(databaseUrl: string): Promise<void> {
  await runMigrations({ connectionString: databaseUrl, schema: GRAPHILE_SCHEMA, logger: silent });
}

/** Queue `count` no-op jobs with one bulk `addJobs` (not timed). */
export async function seedGraphileJobs(databaseUrl: string, count: number): Promise<void> {
  const utils = await makeWorkerUtils({ connectionString: databaseUrl, schema: GRAPHILE_SCHEMA, logger: silent });
  try {
    await utils.addJobs(Array.from({ length: count }, (_, i) => ({ identifier: "noop", payload: { i } })));
    await utils.withPgClient((c) => c.query(`analyze ${GRAPHILE_SCHEMA}._private_jobs`));
  } finally {
    await utils.release();
  }
}

/**
 * Drain the queued jobs with `run()` at `concurrency`, a no-op task and a pre-warmed pool of
 * concurrency + 1 connections (graphile keeps one for LISTEN). Timed from `run()` to the last
 * `job:success`. graphile-worker's defaults otherwise (no local queue, no batched completion).
 */
export async function drainWithGraphile(databaseUrl: string, concurrency: number, expected: number): Promise<DrainResult> {
  const pool = createPool(databaseUrl, { max: concurrency + 1, applicationName: "ccm-bench-graphile" });
  // graphile-worker wants an error handler on every client of a pool it is given.
  pool.on("connect", (client) => client.on("error", () => undefined));
  const events: WorkerEvents = new EventEmitter();
  let done = 0;
  let failed = 0;
  let finish: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (finish = resolve));
  events.on("job:success", () => {
    if (++done >= expected) finish();
  });
  events.on("job:error", () => {
    failed++;
    finish();
  });
  try {
    await warmPool(pool, concurrency + 1);
    const t0 = performance.now();
    const runner = await run({
      pgPool: pool,
      schema: GRAPHILE_SCHEMA,
      concurrency,
      pollInterval: 100,
      noHandleSignals: true,
      logger: silent,
      events,
      taskList: { noop: async () => undefined },
    });
    const timeout = setTimeout(finish, 120_000);
    await all;
    const elapsedMs = performance.now() - t0;
    clearTimeout(timeout);
    await runner.stop();
    if (failed > 0 || done < expected) throw new Error(`graphile-worker finished ${done} of ${expected} jobs (${failed} failed)`);
    return { done, elapsedMs, cycleMs: [] };
  } finally {
    await pool.end();
  }
}
