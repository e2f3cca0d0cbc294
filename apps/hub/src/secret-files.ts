import { readFileSync } from "node:fs";
import { ConfigError } from "@ccm/schemas";

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
const LIST_KEYS = new Set<string>(["CCM_WEBHOOK_TOKEN", "CCM_ALERTMANAGER_TOKEN", "CCM_GRAFANA_TOKEN", "CCM_ELASTIC_TOKEN"]);

/**
 * Fill each secret from `<KEY>_FILE` when set. CCM_WEBHOOK_TOKEN_FILE may hold one token per line
 * (current and next during a rotation), joined with commas; other files hold one value. Setting both the variable and its
 * file is an error, so it is never unclear which one is in force. The values are never logged.
 */
export function withSecretFiles(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  const issues: string[] = [];
  for (const key of SECRET_KEYS) {
    const file = env[`${key}_FILE`];
    if (!file) continue;
    if (env[key]) {
      issues.push(`${key}_FILE: ${key} is also set; use one of them`);
      continue;
    }
    try {
      const lines = readFileSync(file, "utf8")
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith("#"));
      if (lines.length === 0) issues.push(`${key}_FILE: ${file} is empty`);
      else if (lines.length > 1 && !LIST_KEYS.has(key)) issues.push(`${key}_FILE: ${file} must hold one value, found ${lines.length} lines`);
      else out[key] = lines.join(",");
    } catch (err) {
      issues.push(`${key}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    delete out[`${key}_FILE`];
  }
  if (issues.length > 0) throw new ConfigError("the environment", issues);
  return out;
}
