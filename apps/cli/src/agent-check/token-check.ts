import type { AgentConfig } from "@ccm/agent";
import { createCcmSupabaseClient, type Pool } from "@ccm/store";
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
  try {
    let owner: string | null;
    if (transport?.kind === "supabase") {
      const client = createCcmSupabaseClient({ url: transport.url, key: transport.anonKey, requestTimeoutMs: 5_000 });
      const { data, error } = await client.rpc("agent_whoami", { p_token: token });
      if (error?.code === "PGRST202") return skip("token", TITLE, "skipped: the project has no ccm.agent_whoami (run `supabase db push` with this release)");
      if (error) throw Object.assign(new Error(error.message), { code: error.code });
      owner = (data as string | null) ?? null;
    } else {
      if (!pool) return skip("token", TITLE, "skipped: the database check failed");
      const fn = await pool.query<{ present: boolean }>("select to_regprocedure('ccm.agent_whoami(text)') is not null as present");
      if (!fn.rows[0]?.present) return skip("token", TITLE, "skipped: this database has no agent tokens (ccm.agent_whoami is missing: run `ccm db migrate`)");
      const { rows } = await pool.query<{ host: string | null }>("select ccm.agent_whoami($1) as host", [token]);
      owner = rows[0]?.host ?? null;
    }
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
    return fail("token", TITLE, describeError(err), "check the database role's grants on ccm.agent_whoami");
  }
}
