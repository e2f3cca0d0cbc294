import type { Logger } from "@ccm/logger";
import type { Pool } from "@ccm/store";
import { runScheduledDigest, type NotifyConfig } from "@ccm/notify";

export type DigestWorkerConfig = Pick<
  NotifyConfig,
  "CCM_DIGEST_ENABLED" | "CCM_DIGEST_TIME" | "CCM_DIGEST_TZ" | "CCM_AGENT_OFFLINE_AFTER_S" | "CCM_SLACK_DIGEST_CHANNEL" | "CCM_SLACK_DEFAULT_CHANNEL"
>;

/** Checks every intervalMs whether today's morning digest is due; digest_runs makes it once per day fleet-wide. */
export function startDigestWorker(pool: Pool, log: Logger, config: DigestWorkerConfig, intervalMs = 30_000): { stop(): Promise<void> } {
  if (!config.CCM_DIGEST_ENABLED) return { stop: async () => undefined };
  const schedule = {
    time: config.CCM_DIGEST_TIME,
    timeZone: config.CCM_DIGEST_TZ,
    offlineAfterS: config.CCM_AGENT_OFFLINE_AFTER_S,
    channel: config.CCM_SLACK_DIGEST_CHANNEL ?? config.CCM_SLACK_DEFAULT_CHANNEL,
  };
  let running: Promise<void> | undefined;
  const tick = async () => {
    try {
      const r = await runScheduledDigest(pool, schedule);
      if (r.outcome === "enqueued") log.info({ day: r.day }, "morning digest enqueued");
    } catch (err) {
      log.error({ err }, "digest check failed; will retry");
    }
  };
  const start = setTimeout(() => (running = tick().finally(() => (running = undefined))), 1_000);
  const timer = setInterval(() => {
    if (!running) running = tick().finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  start.unref();
  return {
    async stop() {
      clearTimeout(start);
      clearInterval(timer);
      await running;
    },
  };
}
