import path from "node:path";
import { readSecretFileVar } from "@ccm/schemas";
import { createCcmSupabaseClient, createPool, pgDb, startEmbeddedPostgres, supabaseDb, type Db } from "@ccm/store";

export interface ResolvedDatabase {
  url: string;
  kind: "external" | "embedded";
  stop(): Promise<void>;
}

/** The operator's environment cannot name a database to work on (printed as is, exit 1). */
export class OperatorConfigError extends Error {
  override readonly name = "OperatorConfigError";
}

/** DATABASE_URL when set; otherwise the embedded Postgres under CCM_HOME (default .ccm), started or reused. */
export async function resolveDatabase(env: Record<string, string | undefined>): Promise<ResolvedDatabase> {
  if (env.DATABASE_URL) {
    return { url: env.DATABASE_URL, kind: "external", stop: async () => undefined };
  }
  const home = path.resolve(env.CCM_HOME || ".ccm");
  const db = await startEmbeddedPostgres(path.join(home, "postgres"));
  return { url: db.url, kind: "embedded", stop: () => db.stop() };
}

/** A Db for one CLI command; close() ends its pool (and the embedded Postgres) so the command exits. */
export type OperatorDb = Db & { close(): Promise<void> };

/**
 * Where operator commands read and act: SUPABASE_URL with the service-role key (PostgREST RPC on
 * the ccm.op_* functions), else DATABASE_URL or the embedded Postgres (the same functions, called
 * over a pg pool).
 */
export async function resolveDb(env: Record<string, string | undefined>): Promise<OperatorDb> {
  if (env.SUPABASE_URL) {
    const client = createCcmSupabaseClient({ url: env.SUPABASE_URL, key: serviceRoleKey(env) });
    return { ...supabaseDb(client), close: async () => undefined };
  }
  const resolved = await resolveDatabase(env);
  const pool = createPool(resolved.url, { max: 2, applicationName: "ccm-cli" });
  return {
    ...pgDb(pool),
    async close() {
      await pool.end();
      await resolved.stop();
    },
  };
}

/** SUPABASE_SERVICE_ROLE_KEY, or the one value in the file SUPABASE_SERVICE_ROLE_KEY_FILE names. */
function serviceRoleKey(env: Record<string, string | undefined>): string {
  const issues: string[] = [];
  const fromFile = readSecretFileVar(env, "SUPABASE_SERVICE_ROLE_KEY", issues);
  if (issues.length > 0) throw new OperatorConfigError(issues.join("\n"));
  const key = fromFile ?? env.SUPABASE_SERVICE_ROLE_KEY;
  if (!key) {
    throw new OperatorConfigError(
      "SUPABASE_SERVICE_ROLE_KEY is required with SUPABASE_URL for operator commands (or SUPABASE_SERVICE_ROLE_KEY_FILE, a file holding it)",
    );
  }
  return key;
}
