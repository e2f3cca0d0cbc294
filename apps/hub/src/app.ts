import { Hono } from "hono";
import type { Logger } from "@ccm/logger";
import { toDb, type DbLike } from "@ccm/store";
import type { HubConfig } from "./config.ts";
import { errorHandler } from "./http-errors.ts";
import { webhookRoutes, type WebhookConfig } from "./webhooks/index.ts";
import type { SourcesFile } from "@ccm/schemas";
import { slackRoute } from "./routes/slack.ts";
import { runsRoute } from "./routes/runs.ts";
import { broadcastsRoute } from "./routes/broadcasts.ts";
import { createHubMetrics, type HubMetrics } from "./metrics.ts";

export interface HubAppDeps {
  /** The hub's state: a pg pool or a Db (pgDb / supabaseDb from @ccm/store). */
  db: DbLike;
  log: Logger;
  config: Pick<HubConfig, "CCM_WEBHOOK_TOKEN" | "CCM_WEBHOOK_MAX_BYTES"> & Partial<Pick<HubConfig, "CCM_API_TOKEN">> & WebhookConfig;
  /** Generic JSON sources from CCM_SOURCES_FILE (none when absent). */
  sources?: SourcesFile;
  /** Slack interactivity (Approve/Reject buttons); absent = POST /v1/slack/interactions answers 404. */
  slack?: { signingSecret: string | undefined; approvers: string[] };
  /** Prometheus metrics; created when absent. */
  metrics?: HubMetrics;
}

/** The hub's HTTP surface, without a listening server (tests call app.request()). */
export function createHubApp(deps: HubAppDeps): Hono {
  const app = new Hono();
  const db = toDb(deps.db);
  app.onError(errorHandler(deps.log));
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));

  const metrics = deps.metrics ?? createHubMetrics(db);
  app.get("/metrics", async (c) => {
    await metrics.collectFromDatabase();
    return c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType });
  });
  // Every webhook: count by source and status code, time it, and count what became of its alerts.
  app.use("/v1/webhooks/*", async (c, next) => {
    const source = c.req.path.split("/")[3] ?? "unknown";
    const t0 = performance.now();
    await next();
    metrics.ingestSeconds.observe({ source }, (performance.now() - t0) / 1000);
    metrics.webhooks.inc({ source, code: String(c.res.status) });
    // ingestAnswer leaves the per-outcome counts on the context; unset when the request was refused.
    const outcomes = c.get("alertOutcomes") as Record<string, number> | undefined;
    if (c.res.status === 200 && outcomes) {
      for (const [outcome, n] of Object.entries(outcomes)) metrics.alerts.inc({ source, outcome }, n);
    }
  });

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    await db.ping();
    return c.json({ status: "ready" });
  });

  // Alertmanager, Grafana, Elastic and generic JSON sources (apps/hub/src/webhooks).
  app.route("/v1/webhooks", webhookRoutes({ db, log: deps.log, config: deps.config, sources: deps.sources }));
  // Slack Approve/Reject buttons (apps/hub/src/routes/slack.ts).
  app.route(
    "/v1/slack",
    slackRoute({ db, log: deps.log.child({ component: "slack" }), signingSecret: deps.slack?.signingSecret, approvers: deps.slack?.approvers ?? [] }),
  );
  // Operator decisions on runs awaiting approval (apps/hub/src/routes/runs.ts).
  app.route("/v1/runs", runsRoute({ db, log: deps.log.child({ component: "runs" }), token: deps.config.CCM_API_TOKEN }));
  // Fleet broadcasts: create, progress, pause/resume/cancel (apps/hub/src/routes/broadcasts.ts).
  app.route("/v1/broadcasts", broadcastsRoute({ db, log: deps.log.child({ component: "broadcasts" }), token: deps.config.CCM_API_TOKEN }));
  return app;
}
