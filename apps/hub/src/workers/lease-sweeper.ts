import type { Logger } from "@ccm/logger";
import { recoverExpiredLeases, type Pool } from "@ccm/store";

/** Periodically recovers runs whose agent stopped renewing its lease. Never throws; logs and goes on. */
export function startLeaseSweeper(
  pool: Pool,
  log: Logger,
  options: { intervalMs: number; maxAttempts: number; onRecovered?: (outcome: string) => void },
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const tick = async () => {
    try {
      const recovered = await recoverExpiredLeases(pool, options.maxAttempts);
      for (const r of recovered) {
        log.warn({ runId: r.run_id, outcome: r.outcome }, "recovered run with expired lease");
        options.onRecovered?.(r.outcome);
      }
    } catch (err) {
      log.error({ err }, "lease sweep failed; will retry");
    }
  };
  const timer = setInterval(() => {
    if (!running) running = tick().finally(() => (running = undefined));
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
