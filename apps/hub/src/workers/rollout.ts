import type { Logger } from "@ccm/logger";
import { advanceBroadcasts, type Pool } from "@ccm/store";

/**
 * The rollout controller: one ccm.advance_broadcasts() step every interval (timeouts, offline TTL,
 * failure threshold, next wave, completion summary). The database holds the rules and the row locks;
 * this loop only keeps time. Safe on several hub replicas (SKIP LOCKED). Never throws; logs and goes on.
 */
export function startRolloutController(pool: Pool, log: Logger, options: { intervalMs: number }): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const last = new Map<string, string>();
  const tick = async () => {
    try {
      for (const b of await advanceBroadcasts(pool)) {
        if (last.get(b.broadcast_id) !== b.status) log.info({ broadcastId: b.broadcast_id, status: b.status }, "broadcast status");
        if (b.status === "running" || b.status === "paused") last.set(b.broadcast_id, b.status);
        else last.delete(b.broadcast_id);
      }
    } catch (err) {
      log.error({ err }, "rollout step failed; will retry");
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
