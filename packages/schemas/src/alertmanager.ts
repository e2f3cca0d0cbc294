import { z } from "zod";

// Alertmanager's webhook_config payload, version "4"
// (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
// Label and annotation values are strings; unknown top-level fields are tolerated so a newer
// Alertmanager does not get its notifications rejected.

const labelSet = z.record(z.string(), z.string());

export const alertmanagerAlertSchema = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: z.string().datetime({ offset: true }),
  endsAt: z.string().datetime({ offset: true }).optional(),
  generatorURL: z.string().optional(),
  // Absent before Alertmanager 0.19; we derive one from the labels then.
  fingerprint: z.string().min(1).max(128).optional(),
});

export const alertmanagerWebhookSchema = z.object({
  version: z.literal("4"),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string(),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().default(""),
  alerts: z.array(alertmanagerAlertSchema).min(1).max(10_000),
});

export type AlertmanagerAlert = z.infer<typeof alertmanagerAlertSchema>;
export type AlertmanagerWebhook = z.infer<typeof alertmanagerWebhookSchema>;
