import { z } from "zod";

// A generic JSON source: field paths (dot-separated, numeric parts index arrays, e.g.
// "event.tags.0.value") that say where a tool puts the alert's id, status, host, name...
// Any tool that can POST JSON (ElastAlert2, Zabbix, a cron script) becomes a source without code.

const fieldPath = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, "a dot-separated field path such as event.host.name");

export const genericSourceSchema = z
  .object({
    // Bearer token for this source; absent = CCM_WEBHOOK_TOKEN (if set) applies.
    token: z.string().min(16, "must be at least 16 characters").optional(),
    // Where the list of alerts is; absent = the body is one alert, or a JSON array of alerts.
    alerts: fieldPath.optional(),
    fields: z
      .object({
        id: fieldPath.optional(), // absent = a fingerprint of the mapped labels
        status: fieldPath.optional(), // absent = every alert is firing
        host: fieldPath,
        alertname: fieldPath,
        severity: fieldPath.optional(),
        labels: fieldPath.optional(), // an object of extra labels (string values)
        message: fieldPath.optional(),
        startsAt: fieldPath.optional(), // RFC 3339 or epoch seconds
      })
      .strict(),
    // Source values -> firing/resolved, on top of the built-in firing|resolved|problem|ok|...
    status_map: z.record(z.string(), z.enum(["firing", "resolved"])).default({}),
  })
  .strict();

export const sourceNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lowercase letters, digits, - and _");

export const sourcesFileSchema = z
  .object({
    generic: z.record(sourceNameSchema, genericSourceSchema).default({}),
  })
  .strict();

export type GenericSource = z.infer<typeof genericSourceSchema>;
export type SourcesFile = z.infer<typeof sourcesFileSchema>;
