import { withSecretFiles as withFiles } from "@ccm/schemas";

/** Secrets that may come from a file named by `<KEY>_FILE` (systemd credentials, Docker/K8s secrets). */
export const SECRET_KEYS = [
  "CCM_WEBHOOK_TOKEN",
  "CCM_ALERTMANAGER_TOKEN",
  "CCM_GRAFANA_TOKEN",
  "CCM_ELASTIC_TOKEN",
  "CCM_API_TOKEN",
  "CCM_GRAFANA_HMAC_SECRET",
  "DATABASE_URL",
  "SUPABASE_SERVICE_ROLE_KEY",
  "CCM_SLACK_BOT_TOKEN",
  "CCM_SLACK_SIGNING_SECRET",
  "CCM_PAGERDUTY_ROUTING_KEY",
] as const;

// Keys whose value may be a comma-separated list (current,next during a rotation).
const LIST_KEYS = ["CCM_WEBHOOK_TOKEN", "CCM_ALERTMANAGER_TOKEN", "CCM_GRAFANA_TOKEN", "CCM_ELASTIC_TOKEN"];

/**
 * Fill each hub secret from `<KEY>_FILE` when set. The webhook token files may hold one token per
 * line (current and next during a rotation), joined with commas; other files hold one value.
 * Setting both the variable and its file is an error. The values are never logged.
 */
export function withSecretFiles(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return withFiles(env, SECRET_KEYS, LIST_KEYS);
}
