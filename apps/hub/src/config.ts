import { z } from "zod";
import { ConfigError, parseConfigOrThrow } from "@ccm/schemas";
import { notifyEnvShape } from "@ccm/notify";
import { withSecretFiles } from "./secret-files.ts";

// One token, or several separated by commas (rotation): each at least 16 characters, no spaces.
const tokenList = z
  .string()
  .refine((v) => v.split(",").every((t) => /^[^\s,]{16,}$/.test(t.trim())), "each comma-separated token must be at least 16 characters, without spaces");

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** Hub configuration from the environment. Every key says why it exists. */
export const hubEnvSchema = z.object({
  // Port the HTTP API and webhooks listen on.
  CCM_HUB_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  // Interface to bind; 0.0.0.0 so Alertmanager on another host can reach us.
  CCM_HUB_HOST: z.string().min(1).default("0.0.0.0"),
  // The hub's state. Absent: `ccm hub`/`ccm up` start the embedded Postgres under CCM_HOME.
  DATABASE_URL: z.string().url().optional(),
  // Supabase project URL (https://<ref>.supabase.co): selects the supabase transport (PostgREST rpc), overriding DATABASE_URL.
  SUPABASE_URL: z.string().url().optional(),
  // Service-role key the hub calls PostgREST with (or SUPABASE_SERVICE_ROLE_KEY_FILE); required with SUPABASE_URL.
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20, "must be at least 20 characters").optional(),
  // Each PostgREST call gives up after this long and counts as a database outage (503 to senders).
  SUPABASE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(10_000),
  // Where the embedded Postgres and other local state live when DATABASE_URL is absent.
  CCM_HOME: z.string().min(1).default(".ccm"),
  // Shared secret senders put in `Authorization: Bearer …`; "current,next" during a rotation; or CCM_WEBHOOK_TOKEN_FILE. Unset = no auth (local use only).
  CCM_WEBHOOK_TOKEN: tokenList.optional(),
  // Per-source bearer tokens ("current,next" or *_FILE): when set, that source accepts only its own token, not CCM_WEBHOOK_TOKEN.
  CCM_ALERTMANAGER_TOKEN: tokenList.optional(),
  CCM_GRAFANA_TOKEN: tokenList.optional(),
  CCM_ELASTIC_TOKEN: tokenList.optional(),
  // Bearer token operators send to the API (approve/reject runs); unset = no auth (local use only).
  CCM_API_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  // Largest webhook body accepted; Alertmanager groups rarely exceed a few hundred KiB.
  CCM_WEBHOOK_MAX_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  // How often expired leases are swept; with the 30 s lease a dead agent's run is back within ~35 s.
  CCM_LEASE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  // How often the rollout controller advances broadcasts (timeouts, offline TTL, next wave); finishes also advance at once.
  CCM_ROLLOUT_INTERVAL_MS: z.coerce.number().int().min(100).default(1_000),
  // Attempts of an idempotent run before it is marked unknown.
  CCM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  // Apply pending migrations at start (turn off when `supabase db push` owns the schema).
  CCM_HUB_MIGRATE: bool.default(true),
  // Max database connections of this hub process.
  CCM_DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  // JSON/YAML file with the generic JSON sources (POST /v1/webhooks/generic/<name>); see docs/sources.md.
  CCM_SOURCES_FILE: z.string().min(1).optional(),
  // Grafana contact point "HMAC Signature" secret; set = every Grafana webhook must be signed with it.
  CCM_GRAFANA_HMAC_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  // Header Grafana puts the hex HMAC-SHA256 in (Grafana's default).
  CCM_GRAFANA_SIGNATURE_HEADER: z.string().min(1).default("X-Grafana-Alerting-Signature"),
  // Grafana's optional "Timestamp Header"; set = required, signed as "<ts>:<body>", replays refused.
  CCM_GRAFANA_TIMESTAMP_HEADER: z.string().min(1).optional(),
  // Largest clock difference accepted on a signed Grafana timestamp, seconds (stale -> 401).
  CCM_GRAFANA_MAX_SKEW_S: z.coerce.number().int().min(1).max(3600).default(300),
  // Ingests running at once; beyond it the hub answers 503 + Retry-After at once instead of queueing.
  CCM_INGEST_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1000).default(16),
  // Statement timeout of one ingest; a slower database answers 503 (senders retry) rather than hanging.
  CCM_INGEST_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  // Slack, PagerDuty, outbox, approvals timeout and digest keys; each is documented in packages/notify/src/config.ts.
  ...notifyEnvShape,
});

export type HubConfig = z.infer<typeof hubEnvSchema>;

export function parseHubConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): HubConfig {
  // An empty variable counts as unset, so `FOO= ccm hub` does not fail on a blank.
  const present = Object.fromEntries(Object.entries(withSecretFiles(env)).filter(([, v]) => v !== undefined && v !== ""));
  const config = parseConfigOrThrow(hubEnvSchema, present, "the environment");
  if (config.SUPABASE_URL && !config.SUPABASE_SERVICE_ROLE_KEY) {
    throw new ConfigError("the environment", [
      "SUPABASE_SERVICE_ROLE_KEY: required with SUPABASE_URL (or SUPABASE_SERVICE_ROLE_KEY_FILE); the hub calls the ccm functions as the service role",
    ]);
  }
  return config;
}
