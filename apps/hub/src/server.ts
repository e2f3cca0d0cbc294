import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import type { Logger } from "@ccm/logger";
import { assertSchemaCurrent, createCcmSupabaseClient, createPool, migrate, pgDb, supabaseDb, type Db } from "@ccm/store";
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

/** The hub's way to its state: SUPABASE_URL selects PostgREST rpc, otherwise the Postgres at databaseUrl. */
async function connect(config: HubConfig, databaseUrl: string | undefined, log: Logger): Promise<{ db: Db; close(): Promise<void> }> {
  if (config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY) {
    const client = createCcmSupabaseClient({
      url: config.SUPABASE_URL,
      key: config.SUPABASE_SERVICE_ROLE_KEY,
      requestTimeoutMs: config.SUPABASE_REQUEST_TIMEOUT_MS,
    });
    const db = supabaseDb(client);
    // PostgREST cannot run DDL: `supabase db push` owns the schema; refuse to run against an older one.
    const version = await assertSchemaCurrent(db);
    log.info({ transport: "supabase", url: config.SUPABASE_URL, schema: version }, "using the supabase transport (PostgREST rpc, service role)");
    return {
      db,
      close: async () => {
        await client.realtime.disconnect();
      },
    };
  }
  if (!databaseUrl) throw new Error("no database: set DATABASE_URL, or SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY");
  if (config.CCM_HUB_MIGRATE) {
    const { applied } = await migrate(databaseUrl, { log: (m) => log.info({ component: "migrate" }, m) });
    log.info({ component: "migrate", applied: applied.length }, "database schema up to date");
  }
  const pool = createPool(databaseUrl, { max: config.CCM_DB_POOL_MAX, applicationName: "ccm-hub" });
  return { db: pgDb(pool), close: () => pool.end() };
}

/** Migrate (unless disabled or on Supabase), then serve the API and run the hub's workers. */
export async function startHub(config: HubConfig, databaseUrl: string | undefined, log: Logger): Promise<RunningHub> {
  // A bad sources file fails the start before anything else happens.
  const sources = loadSourcesFile(config.CCM_SOURCES_FILE);
  const { db, close: closeDb } = await connect(config, databaseUrl, log);
  const metrics = createHubMetrics(db);
  const app = createHubApp({
    db,
    metrics,
    log,
    config,
    sources,
    slack: { signingSecret: config.CCM_SLACK_SIGNING_SECRET, approvers: config.CCM_SLACK_APPROVERS },
  });
  const sweeper = startLeaseSweeper(db, log.child({ component: "lease-sweeper" }), {
    intervalMs: config.CCM_LEASE_SWEEP_INTERVAL_MS,
    maxAttempts: config.CCM_MAX_ATTEMPTS,
    onRecovered: (outcome) => metrics.leaseRecoveries.inc({ outcome }),
  });
  // Broadcast rollout: waves, failure threshold, offline TTL, summary (apps/hub/src/workers/rollout.ts).
  const rollout = startRolloutController(db, log.child({ component: "rollout" }), { intervalMs: config.CCM_ROLLOUT_INTERVAL_MS });
  // Outbox delivery (Slack, PagerDuty), approval timeouts, morning digest.
  const notifications = startNotificationWorkers(db, log, config);

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
      await closeDb();
      log.info("hub stopped");
    },
  };
}
