import { z } from "zod";
import { toDb, type DbLike } from "./db.ts";

/** Operator actions on agent tokens (ccm.op_* functions). Only hashes cross the wire. */
export interface AgentTokenAdmin {
  /** Enrol a host with its first token; fails (23505) when it already holds one. Returns the agent id. */
  enroll(host: string, tokenHash: string, labels?: Record<string, string>): Promise<string>;
  /** Replace the token; the old one fails on its next call. */
  rotate(host: string, tokenHash: string): Promise<string>;
  /** False when the host had no active token. */
  revoke(host: string): Promise<boolean>;
}

/** On either transport: a direct connection (the schema owner, or a role granted ccm.op_*) or PostgREST. */
export function dbAgentTokenAdmin(x: DbLike): AgentTokenAdmin {
  const db = toDb(x);
  return {
    enroll: async (host, hash, labels) => z.string().parse(await db.call("op_enroll_agent", { p_host: host, p_token_hash: hash, p_labels: labels ?? null })),
    rotate: async (host, hash) => z.string().parse(await db.call("op_rotate_agent_token", { p_host: host, p_token_hash: hash })),
    revoke: async (host) => z.boolean().parse(await db.call("op_revoke_agent_token", { p_host: host })),
  };
}
