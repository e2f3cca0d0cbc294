import type { Logger } from "@ccm/logger";
import type { Pool } from "@ccm/store";
import { expireApprovals } from "@ccm/notify";

/** Rejects approvals nobody answered within timeoutS as `ccm:approval-timeout`, which pages on-call. */
export function startApprovalExpiry(pool: Pool, log: Logger, options: { timeoutS: number; intervalMs?: number }): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const tick = async () => {
    try {
      for (const runId of await expireApprovals(pool, options.timeoutS)) {
        log.warn({ runId, timeoutS: options.timeoutS }, "approval timed out; escalated");
      }
    } catch (err) {
      log.error({ err }, "approval expiry failed; will retry");
    }
  };
  const timer = setInterval(() => {
    if (!running) running = tick().finally(() => (running = undefined));
  }, options.intervalMs ?? 15_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
