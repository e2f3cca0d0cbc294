import { Hono } from "hono";
import {
  alertmanagerWebhookSchema,
  labelFingerprint,
  type AlertmanagerWebhook,
  type NormalizedAlert,
} from "@ccm/schemas";
import type { Logger } from "@ccm/logger";
import { checkBearer, readJsonBody, requireJson } from "./guard.ts";
import type { Ingestor } from "./ingest.ts";
import { ingestAnswer, parseOrReject } from "./respond.ts";

export interface WebhookDeps {
  ingestor: Ingestor;
  log: Logger;
  token: string | undefined;
  maxBytes: number;
}

/** Alertmanager alerts -> the normalised shape ccm.ingest_alerts takes. */
export function normalizeAlertmanager(payload: AlertmanagerWebhook): NormalizedAlert[] {
  return payload.alerts.map((a) => ({
    fingerprint: a.fingerprint ?? labelFingerprint(a.labels),
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.endsAt ?? null,
    generatorURL: a.generatorURL ?? null,
    raw: a,
  }));
}

/** POST /v1/webhooks/alertmanager: answers 200 only after the alerts are committed. */
export function alertmanagerRoute(deps: WebhookDeps): Hono {
  const app = new Hono();
  app.post("/", async (c) => {
    checkBearer(c, deps.token);
    requireJson(c);
    const body = await readJsonBody(c, deps.maxBytes);
    const payload = parseOrReject(alertmanagerWebhookSchema, body, "an Alertmanager webhook payload (version 4)");
    const results = await deps.ingestor.ingest("alertmanager", payload.groupKey, normalizeAlertmanager(payload));
    return ingestAnswer(c, deps.log, "alertmanager", results, { truncatedAlerts: payload.truncatedAlerts });
  });
  return app;
}
