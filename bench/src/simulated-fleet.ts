import pg from "pg";
import { createPool, PgAgentStore, type Pool } from "@ccm/store";

export interface FleetOptions {
  /** Connections the claim loops share. */
  poolMax: number;
  /** Each agent's slow poll, staggered evenly over one interval like independently started agents. */
  pollMs: number;
  leaseSeconds: number;
}

export interface SimulatedFleet {
  /** Database connections the whole fleet holds: one LISTEN + the claim pool. */
  connections: number;
  stats(): { claimCalls: number; runsClaimed: number; errors: number; firstError?: string };
  stop(): Promise<void>;
}

const CHANNEL = /^[a-z0-9_]{1,63}$/;

/**
 * Many enrolled agents without a process (or two connections) each: one connection LISTENs on
 * every agent's channel (`ccm.agent_channel(id)`), and a small pool runs each agent's claim loop
 * with the real functions: on its NOTIFY and on its own poll, `ccm.claim_runs(agent, 1, lease)`;
 * a claimed run is escalated with `ccm.finish_run` at once, as a real agent without a matching
 * playbook does. Like the agent, one claim at a time per agent, and a wake-up during a claim
 * claims again right after it.
 */
export async function startSimulatedFleet(databaseUrl: string, agentIds: readonly string[], options: FleetOptions): Promise<SimulatedFleet> {
  const listen = new pg.Client({ connectionString: databaseUrl, application_name: "ccm-bench-fleet-listen" });
  const pool: Pool = createPool(databaseUrl, { max: options.poolMax, applicationName: "ccm-bench-fleet-claim" });
  const store = new PgAgentStore(pool);
  const byChannel = new Map<string, string>();
  const claiming = new Set<string>();
  const again = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  let claimCalls = 0;
  let runsClaimed = 0;
  let errors = 0;
  let firstError: string | undefined;

  const cycle = async (agent: string): Promise<void> => {
    claimCalls++;
    const runs = await store.claimRuns(agent, 1, options.leaseSeconds);
    for (const run of runs) {
      runsClaimed++;
      await store.finishRun(run.run_id, agent, "escalated", "simulated agent: no playbook", { reason: "no_playbook" });
    }
  };
  const kick = (agent: string): void => {
    if (stopped) return;
    if (claiming.has(agent)) {
      again.add(agent);
      return;
    }
    claiming.add(agent);
    const p: Promise<void> = cycle(agent)
      .catch((err: unknown) => {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      })
      .finally(() => {
        claiming.delete(agent);
        inFlight.delete(p);
        if (again.delete(agent)) kick(agent);
      });
    inFlight.add(p);
  };

  try {
    await listen.connect();
    listen.on("error", (err) => {
      errors++;
      firstError ??= `listen connection: ${err.message}`;
    });
    const { rows } = await listen.query<{ id: string; channel: string }>(
      "select id::text as id, ccm.agent_channel(id) as channel from ccm.agents where id = any($1::uuid[])",
      [agentIds],
    );
    if (rows.length !== agentIds.length) throw new Error(`${agentIds.length - rows.length} simulated agents are not enrolled`);
    for (const r of rows) {
      if (!CHANNEL.test(r.channel)) throw new Error(`unexpected channel name ${r.channel}`);
      byChannel.set(r.channel, r.id);
    }
    listen.on("notification", (msg) => {
      const agent = byChannel.get(msg.channel);
      if (agent) kick(agent);
    });
    const channels = [...byChannel.keys()];
    for (let i = 0; i < channels.length; i += 200) {
      // Several statements in one simple-protocol query: one round-trip per 200 channels.
      await listen.query(channels.slice(i, i + 200).map((c) => `listen ${c}`).join("; "));
    }
    agentIds.forEach((agent, i) => {
      const first = setTimeout(() => {
        kick(agent);
        timers.push(setInterval(() => kick(agent), options.pollMs));
      }, (i / agentIds.length) * options.pollMs);
      timers.push(first);
    });
  } catch (err) {
    await listen.end().catch(() => undefined);
    await pool.end();
    throw err;
  }

  return {
    connections: 1 + options.poolMax,
    stats: () => ({ claimCalls, runsClaimed, errors, ...(firstError ? { firstError } : {}) }),
    async stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(inFlight);
      await listen.end().catch(() => undefined);
      await pool.end();
    },
  };
}
