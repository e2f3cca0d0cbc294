import type { Logger } from "@ccm/logger";
import { PlaybookInputError, type Playbook, type PlaybookResult, type StepRecorder } from "@ccm/playbooks";
import { errorMessage, type AgentStore, type ClaimedRun } from "@ccm/store";

export interface ExecutorDeps {
  store: AgentStore;
  agentId: string;
  host: string;
  playbooks: Playbook<unknown>[];
  playbookConfig: Record<string, unknown>;
  dryRun: boolean;
  leaseSeconds: number;
  log: Logger;
}

export type ExecutionEnd = "finished" | "released" | "lost";

/**
 * Work one claimed run: pick the playbook, start, renew the lease while working, record every step
 * before and after it acts, and write the result. `shutdown` aborts the playbook and hands the run back.
 */
export async function executeRun(deps: ExecutorDeps, run: ClaimedRun, shutdown: AbortSignal): Promise<ExecutionEnd> {
  const log = deps.log.child({ runId: run.run_id, taskId: run.task_id, attempt: run.attempt });
  const labels = { ...run.labels };
  const playbook = deps.playbooks.find((p) => p.matches(labels));

  if (!playbook) {
    const summary = `no playbook on ${deps.host} handles alert ${run.alertname ?? "(no alertname)"}: needs a human`;
    log.warn({ alertname: run.alertname }, summary);
    await persist(log, () => deps.store.finishRun(run.run_id, deps.agentId, "escalated", summary, { reason: "no_playbook" }));
    return "finished";
  }

  const started = await deps.store.startRun(run.run_id, deps.agentId, playbook.name, playbook.idempotent, deps.dryRun);
  if (!started) {
    log.info("run is no longer ours to start (cancelled or lease lost); standing down");
    return "lost";
  }
  log.info({ playbook: playbook.name, dryRun: deps.dryRun }, "run started");

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

  let result: PlaybookResult;
  try {
    result = await playbook.run({
      input: {
        runId: run.run_id,
        taskId: run.task_id,
        alertname: run.alertname,
        labels,
        annotations: { ...run.annotations },
      },
      config: deps.playbookConfig[playbook.name],
      dryRun: deps.dryRun,
      signal: abort.signal,
      log: log.child({ playbook: playbook.name }),
      step,
    });
  } catch (err) {
    result =
      err instanceof PlaybookInputError
        ? { status: "escalated", summary: `${playbook.name}: ${err.message}` }
        : { status: "failed", summary: `${playbook.name} failed: ${errorMessage(err)}` };
  } finally {
    lease.stop();
    shutdown.removeEventListener("abort", onShutdown);
  }

  if (lost) {
    log.warn("run was cancelled or its lease was lost while working; result not written");
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
    return "released";
  }
  await persist(log, () =>
    deps.store.finishRun(run.run_id, deps.agentId, result.status, result.summary, {
      playbook: playbook.name,
      version: playbook.version,
      dry_run: deps.dryRun,
      ...result.details,
    }),
  );
  log.info({ status: result.status, summary: result.summary }, "run finished");
  return "finished";
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
