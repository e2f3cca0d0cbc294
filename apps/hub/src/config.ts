import { z } from "zod";
import { parseConfigOrThrow } from "@ccm/schemas";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** Hub configuration from the environment. Every key says why it exists. */
export const hubEnvSchema = z.object({
  // Port the HTTP API and webhooks listen on.
  CCM_HUB_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  // Interface to bind; 0.0.0.0 so Alertmanager on another host can reach us.
  CCM_HUB_HOST: z.string().min(1).default("0.0.0.0"),
  // The hub's state. Absent: `ccm hub`/`ccm up` start the embedded Postgres under CCM_HOME.
  DATABASE_URL: z.string().url().optional(),
  // Where the embedded Postgres and other local state live when DATABASE_URL is absent.
  CCM_HOME: z.string().min(1).default(".ccm"),
  // Shared secret Alertmanager sends as `Authorization: Bearer …`; unset = no auth (local use only).
  CCM_WEBHOOK_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  // Largest webhook body accepted; Alertmanager groups rarely exceed a few hundred KiB.
  CCM_WEBHOOK_MAX_BYTES: z.coerce.number().int().min(1024).default(4 * 1024 * 1024),
  // How often expired leases are swept; with the 30 s lease a dead agent's run is back within ~35 s.
  CCM_LEASE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(5_000),
  // Attempts of an idempotent run before it is marked unknown.
  CCM_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  // Apply pending migrations at start (turn off when `supabase db push` owns the schema).
  CCM_HUB_MIGRATE: bool.default(true),
  // Max database connections of this hub process.
  CCM_DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
});

export type HubConfig = z.infer<typeof hubEnvSchema>;

export function parseHubConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): HubConfig {
  // An empty variable counts as unset, so `FOO= ccm hub` does not fail on a blank.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  return parseConfigOrThrow(hubEnvSchema, present, "the environment");
}
