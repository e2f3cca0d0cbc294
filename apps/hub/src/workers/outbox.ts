import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Logger } from "@ccm/logger";
import { toDb, type DbLike } from "@ccm/store";
import { claimNotifications, deliverBatch, SlackSender, type NotifyConfig } from "@ccm/notify";

export type OutboxConfig = Pick<
  NotifyConfig,
  | "CCM_SLACK_BOT_TOKEN"
  | "CCM_SLACK_API_URL"
  | "CCM_SLACK_DEFAULT_CHANNEL"
  | "CCM_SLACK_ROUTES"
  | "CCM_SLACK_DIGEST_CHANNEL"
  | "CCM_SLACK_MIN_INTERVAL_MS"
  | "CCM_SLACK_COALESCE_WINDOW_MS"
  | "CCM_PUBLIC_URL"
  | "CCM_PAGERDUTY_URL"
  | "CCM_PAGERDUTY_ROUTING_KEY"
  | "CCM_PAGERDUTY_ROUTES"
  | "CCM_NOTIFY_POLL_MS"
  | "CCM_NOTIFY_MAX_ATTEMPTS"
  | "CCM_NOTIFY_RETRY_BASE_MS"
  | "CCM_NOTIFY_RETRY_MAX_MS"
  | "CCM_NOTIFY_LEASE_S"
>;

const BATCH = 20;

/**
 * Delivers the notification outbox. Several hub replicas may run it: rows are claimed with
 * SKIP LOCKED and a lease, so each is sent by one worker at a time. Never throws; logs and goes on.
 */
export function startOutboxWorker(
  dbLike: DbLike,
  log: Logger,
  config: OutboxConfig,
  workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`,
): { stop(): Promise<void> } {
  const slack = config.CCM_SLACK_BOT_TOKEN
    ? new SlackSender({ token: config.CCM_SLACK_BOT_TOKEN, apiUrl: config.CCM_SLACK_API_URL, minIntervalMs: config.CCM_SLACK_MIN_INTERVAL_MS })
    : null;
  if (!slack) log.warn("CCM_SLACK_BOT_TOKEN unset: Slack notifications are marked skipped");
  const db = toDb(dbLike);
  const deps = { db, log, config, slack, worker: workerId };
  let stopped = false;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const loop = async () => {
    while (!stopped) {
      let claimed = 0;
      try {
        const rows = await claimNotifications(db, workerId, {
          limit: BATCH,
          leaseSeconds: config.CCM_NOTIFY_LEASE_S,
          coalesceMs: config.CCM_SLACK_COALESCE_WINDOW_MS,
        });
        claimed = rows.length;
        if (rows.length) await deliverBatch(deps, rows);
      } catch (err) {
        log.error({ err }, "outbox pass failed; claimed rows return after their lease");
      }
      if (!stopped && claimed < BATCH) await sleep(config.CCM_NOTIFY_POLL_MS);
    }
  };
  const running = loop();
  return {
    async stop() {
      stopped = true;
      wake?.();
      await running;
    },
  };
}
