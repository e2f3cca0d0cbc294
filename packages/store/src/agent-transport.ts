import { PgAgentStore, type AgentStore } from "./agent-store.ts";
import { agentChannel } from "./channel.ts";
import { createPool, type Pool } from "./pool.ts";
import { PgRemediationStore, type RemediationStore } from "./remediation-store.ts";
import { SupabaseAgentStore } from "./supabase-agent-store.ts";
import { SupabaseRemediationStore } from "./supabase-remediation-store.ts";
import { createCcmSupabaseClient, type SupabaseClientOptions } from "./supabase-client.ts";
import { subscribeRealtimeWakeups } from "./supabase-wakeups.ts";
import { subscribeWakeups, type WakeupHandlers, type WakeupSubscription } from "./wakeups.ts";

export type AgentTransportConfig =
  | {
      kind: "postgres";
      databaseUrl: string;
      /** Per-agent token: calls go through the ccm.agent_* functions only. */
      token?: string;
      poolMax: number;
      applicationName: string;
    }
  | {
      kind: "supabase";
      client: Omit<SupabaseClientOptions, "key"> & { anonKey: string };
      token: string;
      /** "broadcast" needs realtime.send (Supabase Realtime with Broadcast from the database). */
      realtime: "broadcast" | "postgres_changes";
    };

/** How an agent reaches the hub's state: the store for calls and the wake-up subscription. */
export interface AgentTransport {
  kind: "postgres" | "supabase";
  store: AgentStore;
  /** The playbook engine's calls (confidence, approvals, safety rails) over the same transport and token. */
  remediation: RemediationStore;
  /** The pg pool of the postgres transport. */
  pool?: Pool;
  /** Call after store.enroll(): the subscription needs the agent's id (and, for Supabase, its topic). */
  subscribe(agentId: string, handlers: WakeupHandlers): WakeupSubscription;
  close(): Promise<void>;
}

export function createAgentTransport(config: AgentTransportConfig): AgentTransport {
  if (config.kind === "postgres") {
    const pool = createPool(config.databaseUrl, { max: config.poolMax, applicationName: config.applicationName });
    return {
      kind: "postgres",
      store: new PgAgentStore(pool, { token: config.token }),
      remediation: new PgRemediationStore(pool, { token: config.token }),
      pool,
      subscribe: (agentId, handlers) => subscribeWakeups(config.databaseUrl, agentChannel(agentId), handlers),
      close: () => pool.end(),
    };
  }
  const client = createCcmSupabaseClient({ ...config.client, key: config.client.anonKey });
  const store = new SupabaseAgentStore(client, config.token);
  return {
    kind: "supabase",
    store,
    remediation: new SupabaseRemediationStore(client, config.token),
    subscribe(agentId, handlers) {
      if (config.realtime === "postgres_changes") return subscribeRealtimeWakeups(client, { kind: "postgres_changes", agentId }, handlers, config.client.anonKey);
      if (!store.wakeTopic) throw new Error("subscribe() before enroll(): the wake-up topic is not known yet");
      return subscribeRealtimeWakeups(client, { kind: "broadcast", topic: store.wakeTopic }, handlers, config.client.anonKey);
    },
    async close() {
      client.realtime.disconnect();
    },
  };
}
