import type { AgentConfig } from "@ccm/agent";
import type { Pool } from "@ccm/store";
import { describeError, fail, pass, skip, type CheckResult } from "./check-result.ts";

const TITLE = "token accepted";

/**
 * Ask the database whose CCM_AGENT_TOKEN this is, through ccm.agent_for_token (read-only, no
 * side effect), and that it is this host's. Honest skips when there is nothing to check.
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
  if (config?.transport?.kind === "supabase") {
    // ccm.agent_for_token is not granted to anon; the only token calls there have side effects (heartbeat).
    return skip("token", TITLE, "skipped: checking a token over Supabase is not implemented yet (the agent's first call will tell)");
  }
  if (!pool) return skip("token", TITLE, "skipped: the database check failed");
  const renew = `issue a new token on an operator machine (\`ccm agent rotate ${host ?? "<host>"}\`, or \`ccm agent enroll <host>\` for a new host) and set CCM_AGENT_TOKEN in /etc/ccm/agent.env`;
  try {
    const fn = await pool.query<{ present: boolean }>("select to_regprocedure('ccm.agent_for_token(text)') is not null as present");
    if (!fn.rows[0]?.present) return skip("token", TITLE, "skipped: this database has no agent tokens (ccm.agent_for_token is missing)");
    const { rows } = await pool.query<{ host: string }>("select a.host from ccm.agents a where a.id = ccm.agent_for_token($1)", [token]);
    const owner = rows[0]?.host;
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
    if ((err as { code?: unknown }).code === "28000") return fail("token", TITLE, `rejected: ${describeError(err)}`, renew);
    return fail("token", TITLE, describeError(err), "check the database role's grants on ccm.agent_for_token");
  }
}
