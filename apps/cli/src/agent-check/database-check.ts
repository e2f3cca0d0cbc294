import { createPool, type Pool } from "@ccm/store";
import type { AgentConfig } from "@ccm/agent";
import { describeError, fail, pass, redactUrl, skip, type CheckResult } from "./check-result.ts";

const TITLE = "database reachable";
const TIMEOUT_MS = 5_000;

/** Connect + `select 1` (postgres transport), or an HTTP answer from SUPABASE_URL. Returns the pool for the token check. */
export async function checkDatabase(
  env: Record<string, string | undefined>,
  config: AgentConfig | undefined,
): Promise<{ result: CheckResult; pool?: Pool }> {
  const transport = config?.transport;
  if (transport?.kind === "supabase") return { result: await checkSupabase(transport.url) };
  const url = transport?.databaseUrl || config?.databaseUrl || env.DATABASE_URL;
  if (url) return checkPostgres(url);
  if (env.SUPABASE_URL) return { result: await checkSupabase(env.SUPABASE_URL) };
  if (!config) return { result: skip("database", TITLE, "skipped: the config is invalid and neither DATABASE_URL nor SUPABASE_URL is set") };
  return {
    result: fail("database", TITLE, "no database configured", "set DATABASE_URL (or SUPABASE_URL) in /etc/ccm/agent.env, or database_url in the config"),
  };
}

async function checkPostgres(url: string): Promise<{ result: CheckResult; pool?: Pool }> {
  const shown = redactUrl(url);
  const pool = createPool(url, { max: 1, connectionTimeoutMillis: TIMEOUT_MS, applicationName: "ccm-agent-check" });
  try {
    const { rows } = await pool.query<{ version: string; schema: boolean }>(
      "select current_setting('server_version') as version, to_regclass('ccm.agents') is not null as schema",
    );
    const row = rows[0];
    if (!row?.schema) {
      return {
        result: fail(
          "database",
          TITLE,
          `${shown} answers, but the CCM schema is missing`,
          "apply the migrations: `ccm db migrate` with this DATABASE_URL (the hub also migrates at start)",
        ),
        pool,
      };
    }
    return { result: pass("database", TITLE, `${shown} answers (PostgreSQL ${row.version}, CCM schema present)`), pool };
  } catch (err) {
    await pool.end().catch(() => undefined);
    return {
      result: fail(
        "database",
        TITLE,
        `${shown}: ${describeError(err)}`,
        "check DATABASE_URL / database_url (host, port, user, password, database), that Postgres runs, and that this host may connect (firewall, pg_hba.conf)",
      ),
    };
  }
}

async function checkSupabase(base: string): Promise<CheckResult> {
  let url: URL;
  try {
    url = new URL("/rest/v1/", base);
  } catch {
    return fail("database", TITLE, `SUPABASE_URL ${base} is not a URL`, "set SUPABASE_URL to https://<project>.supabase.co");
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    await res.body?.cancel();
    if (res.status >= 500) {
      return fail("database", TITLE, `${url.origin} answers HTTP ${res.status}`, "Supabase reports an error: check the project's status page and logs");
    }
    // 401 without an API key is the expected answer: the URL is a live Supabase API.
    return pass("database", TITLE, `${url.origin} answers (HTTP ${res.status}); only reachability is checked in Supabase mode`);
  } catch (err) {
    return fail("database", TITLE, `${url.origin}: ${describeError(err)}`, "check SUPABASE_URL, DNS and outbound HTTPS from this host");
  }
}
