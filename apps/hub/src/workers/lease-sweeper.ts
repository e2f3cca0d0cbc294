import type { Logger } from "@ccm/logger";
import { recoverExpiredLeases, type DbLike } from "@ccm/store";
import { startPeriodic, type PeriodicWorker } from "./periodic.ts";

/** Periodically recovers runs whose agent stopped renewing its lease. Never throws; logs and goes on. */
export function startLeaseSweeper(
  db: DbLike,
  log: Logger,
  options: { intervalMs: number; maxAttempts: number; onRecovered?: (outcome: string) => void },
): PeriodicWorker {
  return startPeriodic(log, "lease sweep failed; will retry", options.intervalMs, async () => {
    for (const r of await recoverExpiredLeases(db, options.maxAttempts)) {
      log.warn({ runId: r.run_id, outcome: r.outcome }, "recovered run with expired lease");
      options.onRecovered?.(r.outcome);
    }
  });
}
