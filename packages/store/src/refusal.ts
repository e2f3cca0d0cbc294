import { SupabaseCallError } from "./supabase-errors.ts";

/**
 * The database's own words for a refusal. Over PostgREST the error names the function first
 * ("op_enroll_agent: host … already has a token"); operators should read the same sentence on
 * both transports.
 */
export function refusalMessage(err: unknown): string {
  if (err instanceof SupabaseCallError && err.message.startsWith(`${err.fn}: `)) return err.message.slice(err.fn.length + 2);
  return err instanceof Error ? err.message : String(err);
}
