import { z } from "zod";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** A label matcher: every key must equal the task's label of that name (`host` and `alertname` work too). */
const matchSchema = z.record(z.string(), z.string());

export const slackRouteSchema = z.object({ match: matchSchema, channel: z.string().min(1) });
export const pagerdutyRouteSchema = z.object({ match: matchSchema, routing_key: z.string().min(1) });
export type SlackRoute = z.infer<typeof slackRouteSchema>;
export type PagerdutyRoute = z.infer<typeof pagerdutyRouteSchema>;

/** A JSON array of routes in one environment variable. */
function jsonRoutes<T extends z.ZodType>(route: T) {
  return z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON array of routes" });
        return z.NEVER;
      }
    })
    .pipe(z.array(route));
}

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, "must be an IANA time zone such as Europe/Paris");

/**
 * Notification settings, read from the hub's environment (the hub schema spreads this shape).
 * Every key says why it exists.
 */
export const notifyEnvShape = {
  // Slack bot token (xoxb-…); unset = Slack notifications are marked `skipped`, not lost silently.
  CCM_SLACK_BOT_TOKEN: z.string().min(1).optional(),
  // Slack Web API base URL; tests point it at a local receiver.
  CCM_SLACK_API_URL: z.string().url().default("https://slack.com/api/"),
  // Channel for incidents no route matches (and for the digest unless CCM_SLACK_DIGEST_CHANNEL is set).
  CCM_SLACK_DEFAULT_CHANNEL: z.string().min(1).default("#ccm"),
  // JSON [{"match":{"severity":"critical"},"channel":"#oncall"}]: first match wins, by task labels.
  CCM_SLACK_ROUTES: jsonRoutes(slackRouteSchema).default([]),
  // Channel of the morning digest.
  CCM_SLACK_DIGEST_CHANNEL: z.string().min(1).optional(),
  // Secret from the Slack app's Basic Information page; verifies POST /v1/slack/interactions.
  CCM_SLACK_SIGNING_SECRET: z.string().min(8).optional(),
  // Slack user ids (comma-separated) allowed to press Approve/Reject; empty = nobody can.
  CCM_SLACK_APPROVERS: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean)),
  // Minimum gap between two messages to one channel; Slack allows about one per second.
  CCM_SLACK_MIN_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1_100),
  // How long the first notification of a burst waits for others with the same alert to join it.
  CCM_SLACK_COALESCE_WINDOW_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  // Link base for messages and pages (the hub's public URL); optional.
  CCM_PUBLIC_URL: z.string().url().optional(),
  // PagerDuty Events API base URL (POST {url}/v2/enqueue); tests point it at a local receiver.
  CCM_PAGERDUTY_URL: z.string().url().default("https://events.pagerduty.com"),
  // Integration (routing) key used when no route matches; unset = pages are marked `skipped`.
  CCM_PAGERDUTY_ROUTING_KEY: z.string().min(1).optional(),
  // JSON [{"match":{"service":"db"},"routing_key":"…"}]: routing key per service/severity, first match wins.
  CCM_PAGERDUTY_ROUTES: jsonRoutes(pagerdutyRouteSchema).default([]),
  // Outbox poll interval; delivery latency when idle.
  CCM_NOTIFY_POLL_MS: z.coerce.number().int().min(20).max(60_000).default(1_000),
  // Attempts before a notification is kept as `failed` (visible in ccm.notifications).
  CCM_NOTIFY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  // First retry delay; doubles per attempt (with jitter) up to CCM_NOTIFY_RETRY_MAX_MS.
  CCM_NOTIFY_RETRY_BASE_MS: z.coerce.number().int().min(10).default(2_000),
  // Longest retry delay.
  CCM_NOTIFY_RETRY_MAX_MS: z.coerce.number().int().min(10).default(300_000),
  // How long a claimed notification is this replica's before another may take it over.
  CCM_NOTIFY_LEASE_S: z.coerce.number().int().min(5).max(3_600).default(120),
  // Pending approvals older than this are rejected as timed out and paged.
  CCM_APPROVAL_TIMEOUT_S: z.coerce.number().int().min(10).default(1_800),
  // Send the morning digest at all.
  CCM_DIGEST_ENABLED: bool.default(true),
  // Local time of the morning digest, HH:MM.
  CCM_DIGEST_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM (24 h)")
    .default("08:00"),
  // IANA time zone of CCM_DIGEST_TIME.
  CCM_DIGEST_TZ: timeZone.default("UTC"),
  // An agent whose last heartbeat is older than this counts as offline in the digest.
  CCM_AGENT_OFFLINE_AFTER_S: z.coerce.number().int().min(10).default(300),
};

export const notifyEnvSchema = z.object(notifyEnvShape);
export type NotifyConfig = z.infer<typeof notifyEnvSchema>;
