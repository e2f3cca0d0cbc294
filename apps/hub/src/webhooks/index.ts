import { Hono } from "hono";
import type { Logger } from "@ccm/logger";
import type { SourcesFile } from "@ccm/schemas";
import type { DbLike } from "@ccm/store";
import type { HubConfig } from "../config.ts";
import { RequestRejected } from "../http-errors.ts";
import { alertmanagerRoute } from "./alertmanager.ts";
import { elasticRoute } from "./elastic.ts";
import { genericRoute } from "./generic.ts";
import { grafanaRoute } from "./grafana.ts";
import { Ingestor } from "./ingest.ts";

/** Config the webhooks read; keys beyond the first two fall back to the hub's defaults. */
export type WebhookConfig = Pick<HubConfig, "CCM_WEBHOOK_TOKEN" | "CCM_WEBHOOK_MAX_BYTES"> &
  Partial<
    Pick<
      HubConfig,
      | "CCM_GRAFANA_HMAC_SECRET"
      | "CCM_GRAFANA_SIGNATURE_HEADER"
      | "CCM_GRAFANA_TIMESTAMP_HEADER"
      | "CCM_GRAFANA_MAX_SKEW_S"
      | "CCM_INGEST_MAX_IN_FLIGHT"
      | "CCM_INGEST_STATEMENT_TIMEOUT_MS"
      | "CCM_ALERTMANAGER_TOKEN"
      | "CCM_GRAFANA_TOKEN"
      | "CCM_ELASTIC_TOKEN"
    >
  >;

export interface WebhookRoutesDeps {
  db: DbLike;
  log: Logger;
  config: WebhookConfig;
  sources?: SourcesFile;
  /** Shared by every source so the in-flight bound is per hub; built from config when absent. */
  ingestor?: Ingestor;
}

/** Every alert source under /v1/webhooks: alertmanager, grafana, elastic, generic/<name>. */
export function webhookRoutes(deps: WebhookRoutesDeps): Hono {
  const { config } = deps;
  const ingestor =
    deps.ingestor ??
    new Ingestor(deps.db, {
      maxInFlight: config.CCM_INGEST_MAX_IN_FLIGHT ?? 16,
      statementTimeoutMs: config.CCM_INGEST_STATEMENT_TIMEOUT_MS ?? 5_000,
    });
  const common = {
    ingestor,
    log: deps.log.child({ component: "webhook" }),
    token: config.CCM_WEBHOOK_TOKEN,
    maxBytes: config.CCM_WEBHOOK_MAX_BYTES,
  };
  const app = new Hono();
  // A source's own token, when set, replaces the shared one for that source only: a leaked Grafana
  // token cannot post Alertmanager alerts.
  app.route("/alertmanager", alertmanagerRoute({ ...common, token: config.CCM_ALERTMANAGER_TOKEN ?? common.token }));
  app.route(
    "/grafana",
    grafanaRoute({
      ...common,
      token: config.CCM_GRAFANA_TOKEN ?? common.token,
      signature: config.CCM_GRAFANA_HMAC_SECRET
        ? {
            secret: config.CCM_GRAFANA_HMAC_SECRET,
            signatureHeader: config.CCM_GRAFANA_SIGNATURE_HEADER ?? "X-Grafana-Alerting-Signature",
            timestampHeader: config.CCM_GRAFANA_TIMESTAMP_HEADER,
            maxSkewS: config.CCM_GRAFANA_MAX_SKEW_S ?? 300,
          }
        : undefined,
    }),
  );
  app.route("/elastic", elasticRoute({ ...common, token: config.CCM_ELASTIC_TOKEN ?? common.token }));
  app.route("/generic", genericRoute({ ...common, sources: deps.sources?.generic ?? {} }));
  for (const path of ["/alertmanager", "/grafana", "/elastic", "/generic/:name"]) {
    app.all(path, () => {
      throw new RequestRejected(405, "use POST");
    });
  }
  return app;
}
