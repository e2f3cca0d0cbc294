import { readSecretFile } from "@ccm/schemas";
import type { AgentTransportConfig } from "@ccm/store";

/** How this agent reaches the hub's state, resolved from its file and environment. */
export type AgentTransportSettings =
  | { kind: "postgres"; databaseUrl: string; token?: string }
  | { kind: "supabase"; url: string; anonKey: string; token: string; realtime: "broadcast" | "postgres_changes" };

export interface TransportFileKeys {
  database_url?: string;
  supabase_url?: string;
  supabase_anon_key?: string;
  token_file?: string;
  realtime?: "broadcast" | "postgres_changes";
}

/**
 * SUPABASE_URL (+ anon key + token) selects the supabase transport; DATABASE_URL the postgres one.
 * Environment wins over the file. The token comes from CCM_AGENT_TOKEN, CCM_AGENT_TOKEN_FILE or
 * token_file; it is never read from the YAML itself, so the config file can be world-readable.
 */
export function resolveAgentTransport(
  file: TransportFileKeys,
  env: Record<string, string | undefined>,
  issues: string[],
): AgentTransportSettings | undefined {
  const tokenFile = env.CCM_AGENT_TOKEN_FILE || file.token_file;
  const token = env.CCM_AGENT_TOKEN || (tokenFile ? readSecretFile(tokenFile, "token_file", issues) : undefined);
  if (token !== undefined && token.length < 32) issues.push("CCM_AGENT_TOKEN: too short (tokens from `ccm agent enroll` are 43 characters)");
  const supabaseUrl = env.SUPABASE_URL || file.supabase_url;
  const databaseUrl = env.DATABASE_URL || file.database_url;
  if (supabaseUrl) {
    const anonKey = env.SUPABASE_ANON_KEY || file.supabase_anon_key;
    if (!anonKey) issues.push("supabase_anon_key: required with SUPABASE_URL (or set SUPABASE_ANON_KEY); agents never hold the service-role key");
    if (!token) issues.push("token_file: required with SUPABASE_URL (or set CCM_AGENT_TOKEN / CCM_AGENT_TOKEN_FILE); issue one with `ccm agent enroll <host>`");
    if (env.SUPABASE_SERVICE_ROLE_KEY) issues.push("SUPABASE_SERVICE_ROLE_KEY: must not be set for an agent; it uses the anon key and its own token");
    if (!anonKey || !token) return undefined;
    return { kind: "supabase", url: supabaseUrl, anonKey, token, realtime: file.realtime ?? "broadcast" };
  }
  if (!databaseUrl) {
    issues.push("database_url: required (or set DATABASE_URL, or SUPABASE_URL for the supabase transport)");
    return undefined;
  }
  return { kind: "postgres", databaseUrl, ...(token ? { token } : {}) };
}

/** The store package's transport config for this agent (postgres without a token when `transport` is absent). */
export function agentTransportConfig(config: {
  databaseUrl: string;
  transport?: AgentTransportSettings;
  concurrency: number;
  host: string;
}): AgentTransportConfig {
  const t = config.transport ?? { kind: "postgres", databaseUrl: config.databaseUrl };
  if (t.kind === "supabase") {
    return { kind: "supabase", client: { url: t.url, anonKey: t.anonKey }, token: t.token, realtime: t.realtime };
  }
  return {
    kind: "postgres",
    databaseUrl: t.databaseUrl,
    ...(t.token ? { token: t.token } : {}),
    poolMax: config.concurrency + 2,
    applicationName: `ccm-agent:${config.host}`,
  };
}
