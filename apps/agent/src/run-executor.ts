import type { Logger } from "@ccm/logger";
import type { CommandVerifier } from "@ccm/security";
import { runPlaybook, selectPlaybook, type EngineResult, type HostActions, type Playbook, type StepRecorder } from "@ccm/playbooks";
import { errorMessage, type AgentStore, type ClaimedRun, type RemediationStore, type RunContext } from "@ccm/store";
import { engineHooks } from "./engine-hooks.ts";
import { broadcastStatus, broadcastSummary, selectBroadcastPlaybook } from "./broadcast-run.ts";
import { COMMAND_PLAYBOOK, DEFAULT_COMMAND_TIMEOUT_MS, executeCommandRun } from "./command-run.ts";
import type { Journal } from "./journal.ts";
import type { AgentMetrics } from "./metrics.ts";

export interface RailsConfig {
  recheck_ms: number;
  concurrency_wait_ms: number;
  maintenance_wait_ms: number;
}

export interface ExecutorDeps {
  store: AgentStore;
  remediation: RemediationStore;
  agentId: string;
  host: string;
  hostGroup: string;
  playbooks: Playbook<unknown>[];
  playbookConfig: Record<string, unknown>;
  actions: HostActions;
  dryRun: boolean;
  stopFile: string | null;
  rails: RailsConfig;
  leaseSeconds: number;
  log: Logger;
  /** Local record of started runs, so a restart knows what it was doing. */
  journal?: Journal;
  metrics?: AgentMetrics;
  /** Gate for signed ad-hoc commands (`command` broadcasts); absent: every command is refused. */
  commandVerifier?: CommandVerifier;
  /** Timeout of one ad-hoc command (default 60 s). */
  commandTimeoutMs?: number;
}

export type ExecutionEnd = "finished" | "released" | "lost";

/** A task may force a dry run (operator, broadcast, or the label ccm_dry_run="true"); nothing can force a live run. */
function effectiveDryRun(deps: ExecutorDeps, run: ClaimedRun, context: RunContext): boolean {
  return deps.dryRun || context.task_dry_run === true || run.labels.ccm_dry_run === "true";
}

/**
 * Work one claimed run: pick the playbook (else `unknown`), start, renew the lease while working, run it
 * under the engine (confidence, approval, safety rails), record every step before and after it acts,
 * and write the result. `shutdown` aborts the playbook and hands the run back.
 */
export async function executeRun(deps: ExecutorDeps, run: ClaimedRun, shutdown: AbortSignal): Promise<ExecutionEnd> {
  const log = deps.log.child({ runId: run.run_id, taskId: run.task_id, attempt: run.attempt });
  const context = await deps.remediation.runContext(run.run_id, deps.agentId);
  // A signed ad-hoc command: never a catalogue playbook, and only what the signature covers runs.
  if (context.broadcast?.playbook === COMMAND_PLAYBOOK) return executeCommand(deps, run, context.command, effectiveDryRun(deps, run, context), shutdown);
  // A broadcast run names its playbook and params: exactly that playbook, never label matching.
  const bc = context.broadcast ? selectBroadcastPlaybook(deps.playbooks, context.broadcast, deps.host) : null;
  if (bc && !bc.ok) {
    log.warn({ broadcastId: context.broadcast?.id }, bc.reason);
    await persist(log, () => deps.store.finishRun(run.run_id, deps.agentId, "failed", bc.reason, { reason: "broadcast_refused", error_line: bc.reason }));
    return "finished";
  }
  const labels = bc?.ok ? bc.labels : { ...run.labels };
  const selected = bc?.ok ? { playbook: bc.playbook, match: bc.match } : selectPlaybook(deps.playbooks, labels);

  if (!selected) {
    const summary = `no playbook on ${deps.host} handles alert ${run.alertname ?? "(no alertname)"}: needs a human`;
    log.warn({ alertname: run.alertname }, summary);
    await persist(log, () => deps.store.finishRun(run.run_id, deps.agentId, "escalated", summary, { reason: "no_playbook" }));
    return "finished";
  }
  const { playbook, match } = selected;

  const dryRun = effectiveDryRun(deps, run, context);
  // Journal first, then the database: a crash between the two must leave a journal entry, so the
  // restarted agent can report the run (a claimed run it never started is simply re-queued).
  await journalStart(deps, run, playbook.name, log);
  const started = await deps.store.startRun(run.run_id, deps.agentId, playbook.name, playbook.idempotent, dryRun);
  if (!started) {
    log.info("run is no longer ours to start (cancelled or lease lost); standing down");
    await deps.journal?.append({ event: "lost", runId: run.run_id }).catch(() => undefined);
    return "lost";
  }
  log.info({ playbook: playbook.name, dryRun, approvedBy: context.approval?.decided_by }, "run started");
  const runStartedAt = performance.now();

  const abort = new AbortController();
  let lost = false;
  const onShutdown = () => abort.abort(new Error("agent shutting down"));
  shutdown.addEventListener("abort", onShutdown);
  const lease = startLeaseRenewal(deps, run, log, () => {
    lost = true;
    abort.abort(new Error("run cancelled or lease lost"));
  });

  const step: StepRecorder = async (phase, action, args, fn) => {
    if (abort.signal.aborted) throw abort.signal.reason;
    // Recorded before acting: if we cannot write the audit row, we do not act.
    const stepId = await deps.store.recordStep(run.run_id, deps.agentId, phase, action, args);
    const t0 = performance.now();
    try {
      const outcome = await fn();
      await deps.store.finishStep(stepId, deps.agentId, { ...outcome, durationMs: performance.now() - t0 });
      return outcome;
    } catch (err) {
      await deps.store
        .finishStep(stepId, deps.agentId, { status: "failed", detail: errorMessage(err), durationMs: performance.now() - t0 })
        .catch(() => undefined);
      throw err;
    }
  };

  let result: EngineResult;
  try {
    result = await runPlaybook(
      playbook,
      {
        input: { runId: run.run_id, taskId: run.task_id, alertname: run.alertname, labels, annotations: { ...run.annotations }, params: bc?.ok ? bc.params : undefined },
        config: deps.playbookConfig[playbook.name],
        dryRun,
        signal: abort.signal,
        log: log.child({ playbook: playbook.name }),
        step,
        actions: deps.actions,
      },
      engineHooks(deps, run, playbook.name),
      {
        match,
        approval: context.approval ? { decidedBy: context.approval.decided_by, proposal: context.approval.proposal } : null,
        stopFile: deps.stopFile,
        recheckMs: deps.rails.recheck_ms,
        concurrencyWaitMs: deps.rails.concurrency_wait_ms,
        maintenanceWaitMs: deps.rails.maintenance_wait_ms,
        operatorIntent: bc?.ok ? { by: bc.by } : undefined,
      },
    );
  } catch (err) {
    result = { status: "failed", summary: `${playbook.name} failed: ${errorMessage(err)}`, details: { playbook: playbook.name }, proposal: [], confidence: null };
  } finally {
    lease.stop();
    shutdown.removeEventListener("abort", onShutdown);
  }

  if (lost) {
    log.warn("run was cancelled or its lease was lost while working; result not written");
    await deps.journal?.append({ event: "lost", runId: run.run_id }).catch(() => undefined);
    return "lost";
  }
  if (shutdown.aborted) {
    const outcome = await deps.store
      .releaseRun(run.run_id, deps.agentId, "agent shut down before the playbook finished")
      .catch((err: unknown) => {
        log.error({ err }, "could not hand the run back; the lease sweeper will recover it");
        return "error";
      });
    log.info({ outcome }, "run handed back on shutdown");
    await deps.journal?.append({ event: "released", runId: run.run_id, detail: String(outcome) }).catch(() => undefined);
    return "released";
  }
  // A broadcast's operator is its escalation path: escalated counts as failed, named in the summary.
  if (bc?.ok) result = { ...result, status: broadcastStatus(result.status), summary: broadcastSummary(result.summary) };
  const details = { ...result.details, dry_run: dryRun };
  await persist(log, () => {
    if (result.status === "awaiting_approval") {
      return deps.remediation.requestApproval(run.run_id, deps.agentId, result.summary, result.proposal, details);
    }
    if (result.status === "cancelled") return deps.remediation.skipRun(run.run_id, deps.agentId, result.summary, details);
    return deps.store.finishRun(run.run_id, deps.agentId, result.status, result.summary, details);
  });
  log.info({ status: result.status, summary: result.summary, confidence: result.confidence?.score }, "run finished");
  await deps.journal?.append({ event: "finished", runId: run.run_id, detail: result.status }).catch(() => undefined);
  deps.metrics?.runs.inc({ playbook: playbook.name, status: result.status });
  deps.metrics?.runSeconds.observe({ playbook: playbook.name }, (performance.now() - runStartedAt) / 1000);
  return "finished";
}

async function executeCommand(deps: ExecutorDeps, run: ClaimedRun, command: unknown, dryRun: boolean, shutdown: AbortSignal): Promise<ExecutionEnd> {
  const abort = new AbortController();
  const onShutdown = () => abort.abort(new Error("agent shutting down"));
  shutdown.addEventListener("abort", onShutdown);
  const lease = startLeaseRenewal(deps, run, deps.log, () => abort.abort(new Error("run cancelled or lease lost")));
  // As for playbooks: journal before anything can start, so a crash mid-command is reported at restart.
  await journalStart(deps, run, COMMAND_PLAYBOOK, deps.log);
  try {
    const end = await executeCommandRun(
      { ...deps, verifier: deps.commandVerifier, timeoutMs: deps.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, persist },
      run,
      command,
      dryRun,
      abort.signal,
    );
    await deps.journal?.append({ event: end === "finished" ? "finished" : "lost", runId: run.run_id }).catch(() => undefined);
    return end;
  } finally {
    lease.stop();
    shutdown.removeEventListener("abort", onShutdown);
  }
}

/**
 * The local journal is a recovery aid, not the audit trail (that is the database step, written
 * before every action): if it cannot be written — a full disk is exactly when disk-full must run —
 * the run goes on and a crash is recovered by the lease instead.
 */
async function journalStart(deps: ExecutorDeps, run: ClaimedRun, playbook: string, log: Logger): Promise<void> {
  await deps.journal?.append({ event: "started", runId: run.run_id, taskId: run.task_id, playbook }).catch((err: unknown) => {
    log.warn({ err: { message: errorMessage(err) } }, "cannot write the local journal; going on (a crash now is recovered by the lease)");
  });
}

function startLeaseRenewal(deps: ExecutorDeps, run: ClaimedRun, log: Logger, onLost: () => void): { stop(): void } {
  let expiresAt = run.lease_expires_at.getTime();
  const every = Math.max(500, (deps.leaseSeconds * 1000) / 3);
  const timer = setInterval(() => {
    deps.store
      .renewLease(run.run_id, deps.agentId, deps.leaseSeconds)
      .then((status) => {
        if (status === "claimed" || status === "running") {
          expiresAt = Date.now() + deps.leaseSeconds * 1000;
        } else {
          log.warn({ status }, "run is no longer ours; stopping the playbook");
          onLost();
        }
      })
      .catch((err: unknown) => {
        log.warn({ err: { message: errorMessage(err) } }, "lease renewal failed");
        // Past the lease the hub may hand the run to someone else: stop acting.
        if (Date.now() >= expiresAt) onLost();
      });
  }, every);
  return { stop: () => clearInterval(timer) };
}

/** Write a result, retrying through a database outage: a finished run is never forgotten. */
async function persist(log: Logger, write: () => Promise<boolean>): Promise<void> {
  let delay = 500;
  for (let attempt = 1; ; attempt++) {
    try {
      const ok = await write();
      if (!ok) log.warn("result not recorded: the run was no longer ours (cancelled or recovered)");
      return;
    } catch (err) {
      if (attempt >= 20) {
        log.error({ err }, "giving up writing the run result; the lease sweeper will recover the run");
        return;
      }
      log.warn({ attempt, err: { message: errorMessage(err) } }, "writing the run result failed; retrying");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }
}
