import type { AgentConfig } from "@ccm/agent";
import { createCcmSupabaseClient, supabaseDb, toDb, type Pool } from "@ccm/store";
import { describeError, fail, pass, skip, type CheckResult } from "./check-result.ts";

const TITLE = "token accepted";

/**
 * Ask the database whose CCM_AGENT_TOKEN this is, through ccm.agent_whoami (read-only, no side
 * effect; over Supabase with the anon key, as the agent calls), and that it is this host's.
 * Honest skips when there is nothing to check.
 */
export async function checkToken(
  env: Record<string, string | undefined>,
  config: AgentConfig | undefined,
  pool: Pool | undefined,
): Promise<CheckResult> {
  // The resolved token covers CCM_AGENT_TOKEN, CCM_AGENT_TOKEN_FILE and token_file.
  const token = config?.transport?.token ?? env.CCM_AGENT_TOKEN;
  const host = config?.host;
  if (!token) return skip("token", TITLE, "skipped: no token configured (CCM_AGENT_TOKEN, CCM_AGENT_TOKEN_FILE, token_file)");
  const renew = `issue a new token on an operator machine (\`ccm agent rotate ${host ?? "<host>"}\`, or \`ccm agent enroll <host>\` for a new host) and set CCM_AGENT_TOKEN in /etc/ccm/agent.env`;
  const transport = config?.transport;
  // Over Supabase with the anon key, as the agent calls; else on the pool the database check opened.
  const db =
    transport?.kind === "supabase"
      ? supabaseDb(createCcmSupabaseClient({ url: transport.url, key: transport.anonKey, requestTimeoutMs: 5_000 }))
      : pool && toDb(pool);
  if (!db) return skip("token", TITLE, "skipped: the database check failed");
  try {
    const owner = await db.call<string | null>("agent_whoami", { p_token: token });
    if (!owner) return fail("token", TITLE, "the token matches no agent", renew);
    if (host && owner.toLowerCase() !== host.toLowerCase()) {
      return fail(
        "token",
        TITLE,
        `the token belongs to host ${owner}, but this agent is configured as ${host}`,
        `use ${host}'s token, or set host: ${owner} in the config if this machine is ${owner}`,
      );
    }
    return pass("token", TITLE, `accepted for host ${owner}`);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // Undefined function (pg) or not in the schema cache (PostgREST): this release's migration is not applied.
    if (code === "42883" || code === "PGRST202") {
      return skip(
        "token",
        TITLE,
        transport?.kind === "supabase"
          ? "skipped: the project has no ccm.agent_whoami (run `supabase db push` with this release)"
          : "skipped: this database has no agent tokens (ccm.agent_whoami is missing: run `ccm db migrate`)",
      );
    }
    if (code === "28000") return fail("token", TITLE, `rejected: ${describeError(err)}`, renew);
    return fail("token", TITLE, describeError(err), "check the database role's grants on ccm.agent_whoami");
  }
}
