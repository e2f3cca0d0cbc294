import type pg from "pg";
import { classifyDatabaseError } from "./errors.ts";
import type { CcmSupabaseClient } from "./supabase-client.ts";
import { classifySupabaseError } from "./supabase-errors.ts";

/** Operator actions on agent tokens (ccm.op_* functions). Only hashes cross the wire. */
export interface AgentTokenAdmin {
  /** Enrol a host with its first token; fails (23505) when it already holds one. Returns the agent id. */
  enroll(host: string, tokenHash: string, labels?: Record<string, string>): Promise<string>;
  /** Replace the token; the old one fails on its next call. */
  rotate(host: string, tokenHash: string): Promise<string>;
  /** False when the host had no active token. */
  revoke(host: string): Promise<boolean>;
}

/** Over a direct Postgres connection (the schema owner, or a role granted the ccm.op_* functions). */
export function pgAgentTokenAdmin(pool: pg.Pool): AgentTokenAdmin {
  const one = async <T>(sql: string, params: unknown[]): Promise<T> => {
    try {
      const { rows } = await pool.query(sql, params);
      return (rows[0] as { v: T }).v;
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  };
  return {
    enroll: (host, hash, labels) => one("select ccm.op_enroll_agent($1, $2, $3) as v", [host, hash, labels ? JSON.stringify(labels) : null]),
    rotate: (host, hash) => one("select ccm.op_rotate_agent_token($1, $2) as v", [host, hash]),
    revoke: (host) => one("select ccm.op_revoke_agent_token($1) as v", [host]),
  };
}

/** Over PostgREST with the service-role key (or an operator's session). */
export function supabaseAgentTokenAdmin(client: CcmSupabaseClient): AgentTokenAdmin {
  const rpc = async <T>(fn: string, args: Record<string, unknown>): Promise<T> => {
    const { data, error, status } = await client.rpc(fn, args);
    if (error) throw classifySupabaseError(fn, error, status);
    return data as T;
  };
  return {
    enroll: (host, hash, labels) => rpc("op_enroll_agent", { p_host: host, p_token_hash: hash, p_labels: labels ?? null }),
    rotate: (host, hash) => rpc("op_rotate_agent_token", { p_host: host, p_token_hash: hash }),
    revoke: (host) => rpc("op_revoke_agent_token", { p_host: host }),
  };
}
