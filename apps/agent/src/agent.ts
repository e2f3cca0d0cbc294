import os from "node:os";
import path from "node:path";
import type { Logger } from "@ccm/logger";
import { createHostActions, type Playbook } from "@ccm/playbooks";
import {
  createAgentTransport,
  errorMessage,
  type AgentStore,
  type WakeupSubscription,
} from "@ccm/store";
import { agentFileSchema, type AgentConfig } from "./config.ts";
import { agentCommandVerifier, DEFAULT_STATE_DIR } from "./command-verifier.ts";
import { acquireInstanceLock } from "./instance-lock.ts";
import { Journal } from "./journal.ts";
import { createAgentMetrics, serveAgentMetrics } from "./metrics.ts";
import { executeRun } from "./run-executor.ts";
import { COMMAND_PLAYBOOK } from "./command-run.ts";
import { agentTransportConfig } from "./transport-config.ts";

export const AGENT_VERSION = "0.1.0";

export interface RunningAgent {
  agentId: string;
  /** Port of the agent's /metrics endpoint, null when disabled. */
  metricsPort: number | null;
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

/** Where the lock, journal and seen command nonces live: state_dir, else CCM_STATE_DIR, else /var/lib/ccm. */
export function agentStateDir(config: Pick<AgentConfig, "stateDir">, env: Record<string, string | undefined> = process.env): string {
  return config.stateDir ?? env.CCM_STATE_DIR ?? DEFAULT_STATE_DIR;
}

/** Enrol, listen for wake-ups, claim on every wake-up and on the poll, work runs, heartbeat. */
export async function startAgent(
  config: AgentConfig,
  builtins: Playbook<unknown>[],
  log: Logger,
  options: { onMemoryCap?: (rssBytes: number) => void } = {},
): Promise<RunningAgent> {
  const playbooks = [...builtins, ...(config.operatorPlaybooks ?? [])];
  const stateDir = agentStateDir(config);
  // One agent per host name and state folder: a second copy refuses before it touches anything.
  const lock = await acquireInstanceLock(path.join(stateDir, config.host));
  const journal = new Journal(path.join(stateDir, config.host));
  // Throws naming trusted_command_keys[i] when a key is not ed25519: bad config stops the agent at start.
  const commandVerifier = agentCommandVerifier({ trustedCommandKeys: config.trustedCommandKeys, stateDir: path.join(stateDir, config.host) });
  const metrics = createAgentMetrics();
  const transport = createAgentTransport(agentTransportConfig(config));
  const store: AgentStore = transport.store;
  const remediation = transport.remediation;
  const actions = createHostActions(config.actions ?? {});
  const rails = config.rails ?? agentFileSchema.shape.rails.parse(undefined);
  const agentLog = log.child({ component: "agent", host: config.host });

  // A busy port costs the metrics endpoint, not remediation; `ccm agent check` reports it before start.
  // CCM_AGENT_METRICS_PORT overrides metrics_port (ccm agent check reads the same variable).
  const envPort = process.env.CCM_AGENT_METRICS_PORT;
  const metricsPort = envPort !== undefined && envPort !== "" ? Number(envPort) : (config.metrics_port ?? 9464);
  const metricsServer = await serveAgentMetrics(metrics, config.metrics_host ?? "127.0.0.1", metricsPort).catch(
    (err: unknown) => {
      log.error({ err: { message: errorMessage(err) }, port: metricsPort }, "cannot serve /metrics; continuing without it");
      return null;
    },
  );
  const agentId = await enrollWithRetry(store, config, playbooks, agentLog);
  agentLog.info(
    { agentId, playbooks: playbooks.map((p) => p.name), dryRun: config.dry_run, stateDir, metricsPort: metricsServer?.port ?? null },
    "agent enrolled",
  );
  metrics.databaseUp.set(1);
  await recoverFromJournal(journal, store, agentId, agentLog);

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
      metrics.databaseUp.set(1);
      metrics.claims.inc({ result: runs.length > 0 ? "claimed" : "empty" });
    } catch (err) {
      metrics.databaseUp.set(0);
      metrics.claims.inc({ result: "error" });
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
          remediation,
          agentId,
          host: config.host,
          hostGroup: config.hostGroup ?? config.labels.group ?? "default",
          playbooks,
          playbookConfig: config.playbookConfig,
          actions,
          dryRun: config.dry_run,
          stopFile: config.stop_file ?? agentFileSchema.shape.stop_file.parse(undefined),
          rails,
          leaseSeconds: config.lease_seconds,
          log: agentLog,
          journal,
          metrics,
          commandVerifier,
          commandTimeoutMs: config.command_timeout_ms,
        },
        run,
        shutdown.signal,
      )
        .catch((err: unknown) => agentLog.error({ err, runId: run.run_id }, "run execution failed"))
        .finally(() => {
          inFlight.delete(p);
          metrics.inFlight.set(inFlight.size);
          kick();
        });
      inFlight.add(p);
      metrics.inFlight.set(inFlight.size);
    }
  };

  const subscription: WakeupSubscription = transport.subscribe(agentId, {
    onWake: (reason) => {
      agentLog.debug({ reason }, "wake-up");
      kick();
    },
    onError: (err) => agentLog.warn({ err: { message: errorMessage(err) } }, "wake-up subscription lost; reconnecting"),
  });
  const poll = setInterval(kick, config.poll_interval_ms);
  const heartbeat = setInterval(() => {
    store
      .heartbeat(agentId, facts())
      .then(() => {
        metrics.databaseUp.set(1);
        metrics.lastHeartbeat.set(Date.now() / 1000);
      })
      .catch((err: unknown) => {
        metrics.databaseUp.set(0);
        agentLog.warn({ err: { message: errorMessage(err) } }, "heartbeat failed");
      });
  }, config.heartbeat_interval_ms);
  // The agent must never become the host's problem: past max_rss_mb it asks to be restarted.
  const maxRss = (config.max_rss_mb ?? 400) * 1024 * 1024;
  const memoryWatch = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > maxRss) {
      agentLog.error({ rssBytes: rss, maxRssMb: config.max_rss_mb }, "memory cap exceeded; stopping to be restarted");
      clearInterval(memoryWatch);
      options.onMemoryCap?.(rss);
    }
  }, 10_000);
  memoryWatch.unref();
  kick();

  return {
    agentId,
    metricsPort: metricsServer?.port ?? null,
    async stop() {
      clearInterval(poll);
      clearInterval(heartbeat);
      clearInterval(memoryWatch);
      await subscription.close();
      if (inFlight.size > 0) {
        agentLog.info({ runs: inFlight.size, graceMs: config.shutdown_grace_ms }, "waiting for the current run to finish");
        const grace = new Promise((r) => setTimeout(r, config.shutdown_grace_ms).unref());
        await Promise.race([Promise.all(inFlight), grace]);
      }
      shutdown.abort();
      await Promise.all(inFlight);
      await transport.close();
      await metricsServer?.close();
      await journal.compact().catch(() => undefined);
      await lock.release();
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
        // `command` (signed ad-hoc commands) is offered only by agents that trust an operator key.
        playbooks: [...playbooks.map((p) => p.name), ...(config.trustedCommandKeys?.length ? [COMMAND_PLAYBOOK] : [])],
        facts: facts(),
      });
    } catch (err) {
      log.warn({ err: { name: (err as Error).name, message: errorMessage(err) }, retryInMs: delay }, "enrolment failed; retrying");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

/**
 * Runs the journal says were started and never closed: this agent died or was killed while working
 * them. Report each (the database decides: re-queue if idempotent, else unknown), then compact.
 */
async function recoverFromJournal(journal: Journal, store: AgentStore, agentId: string, log: Logger): Promise<void> {
  const open = await journal.openRuns().catch((err: unknown) => {
    log.warn({ err: { message: errorMessage(err) } }, "cannot read the local journal; runs in flight before the restart are left to the lease");
    return [];
  });
  for (const entry of open) {
    const outcome = await store
      .releaseRun(entry.runId, agentId, `agent restarted while running ${entry.playbook ?? "a playbook"} (local journal)`)
      .catch((err: unknown) => `error: ${errorMessage(err)}`);
    log.warn({ runId: entry.runId, taskId: entry.taskId, playbook: entry.playbook, startedAt: entry.at, outcome }, "was running this run when the agent stopped");
    await journal.append({ event: "lost", runId: entry.runId, detail: outcome }).catch(() => undefined);
  }
  // A full disk must not keep the agent (and disk-full) from starting.
  await journal.compact().catch((err: unknown) => log.warn({ err: { message: errorMessage(err) } }, "cannot compact the local journal"));
}
