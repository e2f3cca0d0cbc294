import type { RealtimeChannel } from "@supabase/supabase-js";
import type { CcmSupabaseClient } from "./supabase-client.ts";
import type { WakeupHandlers, WakeupSubscription } from "./wakeups.ts";

export type RealtimeWakeupMode =
  /** Private broadcast topic fed by the ccm.broadcast_run_queued trigger (realtime.send). Scales. */
  | { kind: "broadcast"; topic: string }
  /** postgres_changes on this agent's runs: only delivers rows RLS lets the subscriber read. */
  | { kind: "postgres_changes"; agentId: string };

/**
 * Wake-ups over Supabase Realtime. A hint only: every SUBSCRIBED (first join and every rejoin
 * after a dropped socket, which realtime-js performs by itself) also fires onWake, because
 * broadcasts sent while we were away are lost. Callers keep their slow poll.
 */
export function subscribeRealtimeWakeups(
  client: CcmSupabaseClient,
  mode: RealtimeWakeupMode,
  handlers: WakeupHandlers,
  /** JWT sent in the join (the anon key for agents): private topics are authorised by realtime.messages RLS for its role. */
  accessToken: string,
): WakeupSubscription {
  let channel: RealtimeChannel;
  if (mode.kind === "broadcast") {
    channel = client.channel(mode.topic, { config: { private: true } });
    channel.on("broadcast", { event: "run_queued" }, () => handlers.onWake("notify"));
  } else {
    channel = client.channel(`ccm-runs-${mode.agentId}`);
    channel.on(
      "postgres_changes",
      { event: "*", schema: "ccm", table: "runs", filter: `agent_id=eq.${mode.agentId}` },
      () => handlers.onWake("notify"),
    );
  }
  let closed = false;
  void client.realtime
    .setAuth(accessToken)
    .catch((err: unknown) => handlers.onError?.(err))
    .then(() => {
      if (closed) return;
      channel.subscribe((status, err) => {
        if (status === "SUBSCRIBED") handlers.onWake("subscribed");
        else handlers.onError?.(err ?? new Error(`realtime channel ${status}`));
      });
    });
  return {
    async close() {
      closed = true;
      await client.removeChannel(channel).catch(() => undefined);
      client.realtime.disconnect();
    },
  };
}
