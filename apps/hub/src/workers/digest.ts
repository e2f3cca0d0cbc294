import type { Logger } from "@ccm/logger";
import type { DbLike } from "@ccm/store";
import { runScheduledDigest, type NotifyConfig } from "@ccm/notify";
import { startPeriodic, type PeriodicWorker } from "./periodic.ts";

export type DigestWorkerConfig = Pick<
  NotifyConfig,
  "CCM_DIGEST_ENABLED" | "CCM_DIGEST_TIME" | "CCM_DIGEST_TZ" | "CCM_AGENT_OFFLINE_AFTER_S" | "CCM_SLACK_DIGEST_CHANNEL" | "CCM_SLACK_DEFAULT_CHANNEL"
>;

/** Checks every intervalMs whether today's morning digest is due; digest_runs makes it once per day fleet-wide. */
export function startDigestWorker(db: DbLike, log: Logger, config: DigestWorkerConfig, intervalMs = 30_000): PeriodicWorker {
  if (!config.CCM_DIGEST_ENABLED) return { stop: async () => undefined };
  const schedule = {
    time: config.CCM_DIGEST_TIME,
    timeZone: config.CCM_DIGEST_TZ,
    offlineAfterS: config.CCM_AGENT_OFFLINE_AFTER_S,
    channel: config.CCM_SLACK_DIGEST_CHANNEL ?? config.CCM_SLACK_DEFAULT_CHANNEL,
  };
  // First check a second after start, so a hub restarted at 08:00 still sends that day's digest.
  return startPeriodic(
    log,
    "digest check failed; will retry",
    intervalMs,
    async () => {
      const r = await runScheduledDigest(db, schedule);
      if (r.outcome === "enqueued") log.info({ day: r.day }, "morning digest enqueued");
    },
    { firstAfterMs: 1_000 },
  );
}
