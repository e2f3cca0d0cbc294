import { Hono } from "hono";
import { grafanaWebhookSchema, labelFingerprint, type GrafanaWebhook, type NormalizedAlert } from "@ccm/schemas";
import type { Logger } from "@ccm/logger";
import { checkBearer, parseJson, readBody, requireJson } from "./guard.ts";
import { verifyGrafanaSignature, type GrafanaSignatureConfig } from "./grafana-signature.ts";
import type { Ingestor } from "./ingest.ts";
import { ingestAnswer, parseOrReject } from "./respond.ts";

export interface GrafanaRouteDeps {
  ingestor: Ingestor;
  log: Logger;
  /** Bearer token (CCM_GRAFANA_TOKEN, else CCM_WEBHOOK_TOKEN); not asked for when the HMAC signature is configured. */
  token: string | undefined;
  maxBytes: number;
  signature: GrafanaSignatureConfig | undefined;
}

/** Grafana alerts -> the normalised shape; Grafana's extra fields stay in raw. */
export function normalizeGrafana(payload: GrafanaWebhook): NormalizedAlert[] {
  return payload.alerts.map((a) => ({
    fingerprint: a.fingerprint ?? labelFingerprint(a.labels),
    status: a.status,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.endsAt ?? null,
    generatorURL: a.generatorURL ?? null,
    raw: { ...a, orgId: payload.orgId, receiver: payload.receiver },
  }));
}

/** POST /v1/webhooks/grafana (Grafana unified alerting webhook contact point). */
export function grafanaRoute(deps: GrafanaRouteDeps): Hono {
  const app = new Hono();
  app.post("/", async (c) => {
    if (!deps.signature) checkBearer(c, deps.token);
    requireJson(c);
    const raw = await readBody(c, deps.maxBytes);
    if (deps.signature) verifyGrafanaSignature(c, raw, deps.signature);
    const payload = parseOrReject(grafanaWebhookSchema, parseJson(raw), "a Grafana webhook payload (version 1)");
    const results = await deps.ingestor.ingest("grafana", payload.groupKey || null, normalizeGrafana(payload));
    return ingestAnswer(c, deps.log, "grafana", results, { orgId: payload.orgId, truncatedAlerts: payload.truncatedAlerts });
  });
  return app;
}
