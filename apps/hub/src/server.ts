import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import type { Logger } from "@ccm/logger";
import { createPool, migrate } from "@ccm/store";
import { createHubApp } from "./app.ts";
import type { HubConfig } from "./config.ts";
import { startLeaseSweeper } from "./workers/lease-sweeper.ts";
import { createHubMetrics } from "./metrics.ts";
import { loadSourcesFile } from "./webhooks/sources-file.ts";
import { startNotificationWorkers } from "./workers/notifications.ts";
import { startRolloutController } from "./workers/rollout.ts";

export interface RunningHub {
  port: number;
  url: string;
  /** Stop accepting, drain in-flight requests, stop workers, close the pool. */
  close(): Promise<void>;
}

/** Migrate (unless disabled), then serve the API and run the hub's workers. */
export async function startHub(config: HubConfig, databaseUrl: string, log: Logger): Promise<RunningHub> {
  // A bad sources file fails the start before anything else happens.
  const sources = loadSourcesFile(config.CCM_SOURCES_FILE);
  if (config.CCM_HUB_MIGRATE) {
    const { applied } = await migrate(databaseUrl, { log: (m) => log.info({ component: "migrate" }, m) });
    log.info({ component: "migrate", applied: applied.length }, "database schema up to date");
  }
  const pool = createPool(databaseUrl, { max: config.CCM_DB_POOL_MAX, applicationName: "ccm-hub" });
  const metrics = createHubMetrics(pool);
  const app = createHubApp({
    pool,
    metrics,
    log,
    config,
    sources,
    slack: { signingSecret: config.CCM_SLACK_SIGNING_SECRET, approvers: config.CCM_SLACK_APPROVERS },
  });
  const sweeper = startLeaseSweeper(pool, log.child({ component: "lease-sweeper" }), {
    intervalMs: config.CCM_LEASE_SWEEP_INTERVAL_MS,
    maxAttempts: config.CCM_MAX_ATTEMPTS,
    onRecovered: (outcome) => metrics.leaseRecoveries.inc({ outcome }),
  });
  // Broadcast rollout: waves, failure threshold, offline TTL, summary (apps/hub/src/workers/rollout.ts).
  const rollout = startRolloutController(pool, log.child({ component: "rollout" }), { intervalMs: config.CCM_ROLLOUT_INTERVAL_MS });
  // Outbox delivery (Slack, PagerDuty), approval timeouts, morning digest.
  const notifications = startNotificationWorkers(pool, log, config);

  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.CCM_HUB_PORT, hostname: config.CCM_HUB_HOST }, () => resolve(s));
    s.once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.CCM_HUB_HOST === "0.0.0.0" ? "127.0.0.1" : config.CCM_HUB_HOST;
  log.info({ port, host: config.CCM_HUB_HOST }, "hub listening");

  return {
    port,
    url: `http://${host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sweeper.stop();
      await rollout.stop();
      await notifications.stop();
      await pool.end();
      log.info("hub stopped");
    },
  };
}
