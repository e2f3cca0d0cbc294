import { z } from "zod";

// What the templates in infra/elastic/ make Kibana (webhook connector) and Watcher (webhook
// action) send. Mustache renders a missing variable as "", so blank strings count as absent.

const blank = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const optionalText = (max: number) => z.preprocess(blank, z.string().max(max).optional());

function toIso(value: string, ctx: z.core.$RefinementCtx<string>): string {
  const ms = Date.parse(value.replace(/\[[^\]]*\]$/, ""));
  const year = new Date(ms).getUTCFullYear();
  if (!Number.isFinite(ms) || year < 1971 || year > 9999) {
    ctx.addIssue({ code: "custom", message: "not an ISO 8601 time" });
    return z.NEVER;
  }
  return new Date(ms).toISOString();
}

const status = z
  .enum(["firing", "resolved", "active", "recovered", "FIRING", "RESOLVED", "ACTIVE", "RECOVERED"])
  .transform((s): "firing" | "resolved" => (["resolved", "recovered"].includes(s.toLowerCase()) ? "resolved" : "firing"));

export const elasticAlertSchema = z.object({
  // Stable per alert episode: Kibana "<rule.id>:<alert.uuid>", Watcher "<watch_id>:<bucket key>".
  id: z.string().min(1).max(512),
  status,
  rule_id: optionalText(256),
  rule_name: optionalText(512),
  host: optionalText(255),
  severity: optionalText(64),
  message: optionalText(65_536),
  // ISO 8601; Watcher's "2026-11-23T02:00:00.123Z[UTC]" form is accepted too.
  started_at: z.preprocess(blank, z.string().max(64).transform(toIso).optional()),
  url: optionalText(2048),
  labels: z.record(z.string(), z.string()).optional(),
});

/** A trailing `{}` lets a mustache list end without a dangling comma; it is skipped. */
const listEnd = z.object({}).strict();

// Kibana's "summary of alerts" action frequency: several alerts in one body, with defaults on top.
export const elasticSummarySchema = z.object({
  rule_id: optionalText(256),
  rule_name: optionalText(512),
  alerts: z.array(z.union([elasticAlertSchema, listEnd])).min(1).max(10_000),
});

export type ElasticAlert = z.infer<typeof elasticAlertSchema>;
export type ElasticSummary = z.infer<typeof elasticSummarySchema>;
