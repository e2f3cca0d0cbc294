import { Hono } from "hono";
import { elasticAlertSchema, elasticSummarySchema, type ElasticAlert, type NormalizedAlert } from "@ccm/schemas";
import type { Logger } from "@ccm/logger";
import { RequestRejected } from "../http-errors.ts";
import { checkBearer, readJsonBody, requireJson } from "./guard.ts";
import type { Ingestor } from "./ingest.ts";
import { ingestAnswer, parseOrReject } from "./respond.ts";

export interface ElasticRouteDeps {
  ingestor: Ingestor;
  log: Logger;
  token: string | undefined;
  maxBytes: number;
}

type Defaults = { rule_id?: string; rule_name?: string };

/** One alert of the infra/elastic templates -> the normalised shape. */
export function normalizeElastic(a: ElasticAlert, defaults: Defaults = {}): NormalizedAlert {
  const ruleId = a.rule_id ?? defaults.rule_id;
  const alertname = a.rule_name ?? defaults.rule_name ?? ruleId ?? "ElasticAlert";
  const labels: Record<string, string> = { ...a.labels, alertname };
  if (a.host) labels.host = a.host;
  if (a.severity) labels.severity = a.severity;
  if (ruleId) labels.rule_id = ruleId;
  const annotations: Record<string, string> = {};
  if (a.message) annotations.message = a.message;
  if (a.url) annotations.url = a.url;
  return {
    fingerprint: a.id,
    status: a.status,
    labels,
    annotations,
    startsAt: a.started_at ?? null,
    endsAt: null,
    generatorURL: a.url ?? null,
    raw: a,
  };
}

/** POST /v1/webhooks/elastic: one alert (Kibana per-alert action) or {alerts: [...]} (summary, Watcher). */
export function elasticRoute(deps: ElasticRouteDeps): Hono {
  const app = new Hono();
  app.post("/", async (c) => {
    checkBearer(c, deps.token);
    requireJson(c);
    const body = await readJsonBody(c, deps.maxBytes);
    const summary = typeof body === "object" && body !== null && !Array.isArray(body) && "alerts" in body;
    let alerts: NormalizedAlert[];
    if (summary) {
      const s = parseOrReject(elasticSummarySchema, body, "an Elastic alert summary ({alerts: [...]}, see infra/elastic)");
      alerts = s.alerts.filter((a): a is ElasticAlert => "id" in a).map((a) => normalizeElastic(a, s));
      if (alerts.length === 0) throw new RequestRejected(400, "no alerts in the summary (only the closing {})");
    } else {
      alerts = [normalizeElastic(parseOrReject(elasticAlertSchema, body, "an Elastic alert (see infra/elastic)"))];
    }
    const results = await deps.ingestor.ingest("elastic", null, alerts);
    return ingestAnswer(c, deps.log, "elastic", results);
  });
  return app;
}
