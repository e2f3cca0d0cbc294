import { createRequire } from "node:module";
import type { SupabaseClient } from "@supabase/supabase-js";
import WebSocket from "ws";

// Loaded on first use: supabase-js prints a Node 20 deprecation banner at import time, which every
// postgres-transport process (hub, agent, CLI) would otherwise show.
const require = createRequire(import.meta.url);

/** A supabase-js client bound to the `ccm` schema (which PostgREST must expose: see docs/supabase.md). */
export type CcmSupabaseClient = SupabaseClient<any, "ccm">; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface SupabaseClientOptions {
  /** The project's URL, e.g. https://abcd.supabase.co. */
  url: string;
  /** anon key for agents (they add their own token to each call); service-role key for the hub and CLI. */
  key: string;
  /** Each HTTP call gives up after this long, so a hung connection never stalls a claim loop. */
  requestTimeoutMs?: number;
  /** Realtime socket reconnect delay; tests shorten it. */
  reconnectAfterMs?: (tries: number) => number;
  heartbeatIntervalMs?: number;
}

/**
 * supabase-js prints a Node ≤ 20 deprecation banner when first loaded; on every `ccm` command that
 * is noise on stderr (docs/install.md says which Node to run), so only that line is dropped.
 */
function loadSupabaseJs(): typeof import("@supabase/supabase-js") {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === "string" && args[0].includes("Node.js 20 and below are deprecated")) return;
    warn(...args);
  };
  try {
    return require("@supabase/supabase-js") as typeof import("@supabase/supabase-js");
  } finally {
    console.warn = warn;
  }
}

/**
 * One client per process. Node 20 has no global WebSocket, so `ws` is passed as Realtime's
 * transport; sessions are never persisted (a daemon has no browser storage and no user session).
 */
export function createCcmSupabaseClient(options: SupabaseClientOptions): CcmSupabaseClient {
  const timeout = options.requestTimeoutMs ?? 10_000;
  const timedFetch: typeof fetch = (input, init) =>
    fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeout) });
  const { createClient } = loadSupabaseJs();
  return createClient(options.url, options.key, {
    db: { schema: "ccm" },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: timedFetch },
    realtime: {
      transport: WebSocket as never,
      ...(options.reconnectAfterMs ? { reconnectAfterMs: options.reconnectAfterMs } : {}),
      ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}),
    },
  });
}
