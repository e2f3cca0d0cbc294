import { Hono } from "hono";
import type { z } from "zod";
import {
  alertmanagerWebhookSchema,
  labelFingerprint,
  type AlertmanagerWebhook,
  type NormalizedAlert,
} from "@ccm/schemas";
import { ingestAlerts, type Pool } from "@ccm/store";
import type { Logger } from "@ccm/logger";
import { RequestRejected } from "../http-errors.ts";
import { checkBearer, readJsonBody, requireJson } from "./guard.ts";

export interface WebhookDeps {
  pool: Pool;
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

export function formatIssues(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.join(".") || "(root)", message: i.message }));
}

/** POST /v1/webhooks/alertmanager: answers 200 only after the alerts are committed. */
export function alertmanagerRoute(deps: WebhookDeps): Hono {
  const app = new Hono();
  app.post("/", async (c) => {
    checkBearer(c, deps.token);
    requireJson(c);
    const body = await readJsonBody(c, deps.maxBytes);
    const parsed = alertmanagerWebhookSchema.safeParse(body);
    if (!parsed.success) {
      throw new RequestRejected(400, "not an Alertmanager webhook payload (version 4)", formatIssues(parsed.error));
    }
    const payload = parsed.data;
    const results = await ingestAlerts(deps.pool, "alertmanager", payload.groupKey, normalizeAlertmanager(payload));
    deps.log.info(
      {
        source: "alertmanager",
        receiver: payload.receiver,
        groupKey: payload.groupKey,
        alerts: results.length,
        truncatedAlerts: payload.truncatedAlerts,
        outcomes: countBy(results.map((r) => r.outcome)),
      },
      "webhook ingested",
    );
    return c.json({
      status: "ok",
      truncatedAlerts: payload.truncatedAlerts,
      alerts: results.map((r) => ({ alert_id: r.alert_id, task_id: r.task_id, outcome: r.outcome, host: r.host })),
    });
  });
  return app;
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
