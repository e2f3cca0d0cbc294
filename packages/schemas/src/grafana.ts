import { z } from "zod";

// Grafana unified alerting webhook contact point, payload version "1"
// (https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/).
// The Alertmanager envelope plus orgId, state, title, message and per-alert Grafana fields.
// Unknown fields are tolerated so a newer Grafana is not rejected.

const labelSet = z.record(z.string(), z.string());
const timestamp = z.string().datetime({ offset: true });

export const grafanaAlertSchema = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(128).optional(),
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
  imageURL: z.string().optional(),
  // Query ref -> value of the last evaluation; null when a query returned no data.
  values: z.record(z.string(), z.number().nullable()).nullable().optional(),
  valueString: z.string().optional(),
});

export const grafanaWebhookSchema = z.object({
  version: z.literal("1"),
  receiver: z.string().default(""),
  status: z.enum(["firing", "resolved"]),
  orgId: z.number().int(),
  groupKey: z.string().default(""),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().default(""),
  title: z.string().default(""),
  // "alerting" or "ok" (legacy field kept by Grafana for old receivers).
  state: z.string().default(""),
  message: z.string().default(""),
  alerts: z.array(grafanaAlertSchema).min(1).max(10_000),
});

export type GrafanaAlert = z.infer<typeof grafanaAlertSchema>;
export type GrafanaWebhook = z.infer<typeof grafanaWebhookSchema>;
