import type { Logger } from "@ccm/logger";
import { advanceBroadcasts, type DbLike } from "@ccm/store";
import { startPeriodic, type PeriodicWorker } from "./periodic.ts";

/**
 * The rollout controller: one ccm.advance_broadcasts() step every interval (timeouts, offline TTL,
 * failure threshold, next wave, completion summary). The database holds the rules and the row locks;
 * this loop only keeps time. Safe on several hub replicas (SKIP LOCKED). Never throws; logs and goes on.
 */
export function startRolloutController(db: DbLike, log: Logger, options: { intervalMs: number }): PeriodicWorker {
  const last = new Map<string, string>();
  return startPeriodic(log, "rollout step failed; will retry", options.intervalMs, async () => {
    for (const b of await advanceBroadcasts(db)) {
      if (last.get(b.broadcast_id) !== b.status) log.info({ broadcastId: b.broadcast_id, status: b.status }, "broadcast status");
      if (b.status === "running" || b.status === "paused") last.set(b.broadcast_id, b.status);
      else last.delete(b.broadcast_id);
    }
  });
}
