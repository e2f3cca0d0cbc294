import { DatabaseUnavailableError } from "./errors.ts";

/** PostgREST answered a call with an error the caller must not simply retry (bad token, bad input, bug). */
export class SupabaseCallError extends Error {
  override readonly name = "SupabaseCallError";
  readonly fn: string;
  /** SQLSTATE (28000 bad token, 42501 not allowed, 22023 bad argument, …) or a PGRST code. */
  readonly code: string;
  readonly status: number;
  constructor(fn: string, code: string, status: number, message: string) {
    super(`${fn}: ${message}`);
    this.fn = fn;
    this.code = code;
    this.status = status;
  }
}

interface PostgrestErrorLike {
  message: string;
  code: string;
}

/** SQLSTATE classes meaning "Postgres itself is unreachable or overloaded" (08 connection, 57 operator intervention, 53 resources). */
const UNAVAILABLE_SQLSTATE = /^(08|57|53)/;

/**
 * Map a supabase-js error to what callers act on: DatabaseUnavailableError for "retry later"
 * (network failure, timeout, 5xx from PostgREST or the gateway), SupabaseCallError for the rest.
 */
export function classifySupabaseError(fn: string, error: PostgrestErrorLike, status: number): Error {
  const code = error.code ?? "";
  if (status === 0 || status === 502 || status === 503 || status === 504 || status === 520 || UNAVAILABLE_SQLSTATE.test(code) || /^PGRST00/.test(code)) {
    return new DatabaseUnavailableError(`supabase unavailable (${fn})`, { cause: new Error(error.message), code: code || String(status) });
  }
  return new SupabaseCallError(fn, code, status, error.message);
}
