import { createPool, PgAgentStore, type Pool } from "@ccm/store";

export interface DrainResult {
  /** Runs claimed, started and finished. */
  done: number;
  elapsedMs: number;
  /** claim → start → finish of each run, on the worker (3 round-trips). */
  cycleMs: number[];
  /** Each call of the cycle on its own (ccm only). */
  stepMs?: { claim: number[]; start: number[]; finish: number[] };
}

/** Open every connection of the pool before the clock starts, so connecting is not timed. */
export async function warmPool(pool: Pool, connections: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: connections }, () => pool.connect()));
  for (const c of clients) c.release();
}

/**
 * `agentsOfWorker.length` loops on a pool of as many connections, each doing what an agent's
 * concurrency slot does with a no-op playbook: `ccm.claim_runs(agent, 1, 30)`, `ccm.start_run`,
 * `ccm.finish_run(succeeded)`, until its agents' queues are empty.
 */
export async function drainWithCcm(databaseUrl: string, agentsOfWorker: readonly string[][]): Promise<DrainResult> {
  const workers = agentsOfWorker.length;
  const pool = createPool(databaseUrl, { max: workers, applicationName: "ccm-bench-worker" });
  const store = new PgAgentStore(pool);
  try {
    await warmPool(pool, workers);
    const cycleMs: number[] = [];
    const stepMs = { claim: [] as number[], start: [] as number[], finish: [] as number[] };
    const worker = async (agents: readonly string[]): Promise<void> => {
      for (const agent of agents) {
        for (;;) {
          const t0 = performance.now();
          const [run] = await store.claimRuns(agent, 1, 30);
          if (!run) break;
          const t1 = performance.now();
          if (!(await store.startRun(run.run_id, agent, "bench-noop", true, false))) throw new Error(`start_run refused run ${run.run_id}`);
          const t2 = performance.now();
          if (!(await store.finishRun(run.run_id, agent, "succeeded", "no-op", null))) throw new Error(`finish_run refused run ${run.run_id}`);
          const t3 = performance.now();
          cycleMs.push(t3 - t0);
          stepMs.claim.push(t1 - t0);
          stepMs.start.push(t2 - t1);
          stepMs.finish.push(t3 - t2);
        }
      }
    };
    const t0 = performance.now();
    await Promise.all(agentsOfWorker.map(worker));
    return { done: cycleMs.length, elapsedMs: performance.now() - t0, cycleMs, stepMs };
  } finally {
    await pool.end();
  }
}
