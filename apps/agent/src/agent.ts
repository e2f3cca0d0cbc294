import os from "node:os";
import type { Logger } from "@ccm/logger";
import type { Playbook } from "@ccm/playbooks";
import {
  PgAgentStore,
  agentChannel,
  createPool,
  errorMessage,
  subscribeWakeups,
  type AgentStore,
  type WakeupSubscription,
} from "@ccm/store";
import type { AgentConfig } from "./config.ts";
import { executeRun } from "./run-executor.ts";

export const AGENT_VERSION = "0.1.0";

export interface RunningAgent {
  agentId: string;
  /** Stop claiming, let the current run finish within the grace period, else hand it back. */
  stop(): Promise<void>;
}

function facts(): Record<string, unknown> {
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    cpus: os.cpus().length,
    mem_total_bytes: os.totalmem(),
    mem_free_bytes: os.freemem(),
    loadavg: os.loadavg(),
    uptime_s: Math.round(os.uptime()),
  };
}

/** Enrol, listen for wake-ups, claim on every wake-up and on the poll, work runs, heartbeat. */
export async function startAgent(config: AgentConfig, playbooks: Playbook<unknown>[], log: Logger): Promise<RunningAgent> {
  const pool = createPool(config.databaseUrl, { max: config.concurrency + 2, applicationName: `ccm-agent:${config.host}` });
  const store: AgentStore = new PgAgentStore(pool);
  const agentLog = log.child({ component: "agent", host: config.host });

  const agentId = await enrollWithRetry(store, config, playbooks, agentLog);
  agentLog.info({ agentId, playbooks: playbooks.map((p) => p.name), dryRun: config.dry_run }, "agent enrolled");

  const shutdown = new AbortController();
  const inFlight = new Set<Promise<unknown>>();
  let claiming = false;
  let again = false;
  let lastClaimError = 0;

  const kick = (): void => {
    if (shutdown.signal.aborted) return;
    if (claiming) {
      again = true;
      return;
    }
    claiming = true;
    void claimCycle().finally(() => {
      claiming = false;
      if (again) {
        again = false;
        kick();
      }
    });
  };

  const claimCycle = async (): Promise<void> => {
    const free = config.concurrency - inFlight.size;
    if (free <= 0) return;
    let runs;
    try {
      runs = await store.claimRuns(agentId, free, config.lease_seconds);
    } catch (err) {
      // One line per 30 s at most during an outage; the poll keeps trying, no hot loop.
      if (Date.now() - lastClaimError > 30_000) {
        agentLog.warn({ err: { name: (err as Error).name, message: errorMessage(err) } }, "claim failed; will retry on the next poll");
        lastClaimError = Date.now();
      }
      return;
    }
    for (const run of runs) {
      const p = executeRun(
        {
          store,
          agentId,
          host: config.host,
          playbooks,
          playbookConfig: config.playbookConfig,
          dryRun: config.dry_run,
          leaseSeconds: config.lease_seconds,
          log: agentLog,
        },
        run,
        shutdown.signal,
      )
        .catch((err: unknown) => agentLog.error({ err, runId: run.run_id }, "run execution failed"))
        .finally(() => {
          inFlight.delete(p);
          kick();
        });
      inFlight.add(p);
    }
  };

  const subscription: WakeupSubscription = subscribeWakeups(config.databaseUrl, agentChannel(agentId), {
    onWake: (reason) => {
      agentLog.debug({ reason }, "wake-up");
      kick();
    },
    onError: (err) => agentLog.warn({ err: { message: errorMessage(err) } }, "wake-up subscription lost; reconnecting"),
  });
  const poll = setInterval(kick, config.poll_interval_ms);
  const heartbeat = setInterval(() => {
    store.heartbeat(agentId, facts()).catch((err: unknown) => {
      agentLog.warn({ err: { message: errorMessage(err) } }, "heartbeat failed");
    });
  }, config.heartbeat_interval_ms);
  kick();

  return {
    agentId,
    async stop() {
      clearInterval(poll);
      clearInterval(heartbeat);
      await subscription.close();
      if (inFlight.size > 0) {
        agentLog.info({ runs: inFlight.size, graceMs: config.shutdown_grace_ms }, "waiting for the current run to finish");
        const grace = new Promise((r) => setTimeout(r, config.shutdown_grace_ms).unref());
        await Promise.race([Promise.all(inFlight), grace]);
      }
      shutdown.abort();
      await Promise.all(inFlight);
      await pool.end();
      agentLog.info("agent stopped");
    },
  };
}

async function enrollWithRetry(
  store: AgentStore,
  config: AgentConfig,
  playbooks: Playbook<unknown>[],
  log: Logger,
): Promise<string> {
  let delay = 1_000;
  for (;;) {
    try {
      return await store.enroll({
        host: config.host,
        aliases: config.aliases,
        labels: config.labels,
        version: AGENT_VERSION,
        playbooks: playbooks.map((p) => p.name),
        facts: facts(),
      });
    } catch (err) {
      log.warn({ err: { name: (err as Error).name, message: errorMessage(err) }, retryInMs: delay }, "enrolment failed; retrying");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  }
}
