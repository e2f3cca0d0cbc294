import type { Logger } from "@ccm/logger";
import { describeExit, outputTail, runCommand, type ExecResult } from "@ccm/playbooks";
import type { CommandRejection, CommandVerifier } from "@ccm/security";
import { errorMessage, type AgentStore, type ClaimedRun } from "@ccm/store";

/** The playbook name a broadcast of a signed ad-hoc command carries (and agents that trust a key offer). */
export const COMMAND_PLAYBOOK = "command";

export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;
const OUTPUT_CAP_BYTES = 64 * 1024;

/** How a refusal reads on the run ("altered" rather than "bad_signature"). */
export const refusalLabel: Record<CommandRejection | "altered", string> = {
  unsigned: "unsigned",
  malformed: "malformed",
  untrusted_key: "wrong key",
  bad_signature: "altered",
  altered: "altered",
  expired: "expired",
  replayed: "replayed",
};

export type CommandGate =
  | { ok: true; argv: string[]; expiresAt: string; keyId: string }
  | { ok: false; reason: CommandRejection | "altered"; detail: string };

/**
 * Accept the stored signed command only for this task on this host, then only if the verifier
 * accepts it (trusted key, intact signature, not expired, never seen). The task id and host are
 * compared before the verifier so a command copied onto another task is refused as altered
 * without spending its nonce.
 */
export function gateCommand(verifier: CommandVerifier, input: unknown, taskId: string, host: string, now = new Date()): CommandGate {
  if (input && typeof input === "object") {
    const c = input as { taskId?: unknown; target?: unknown };
    if (c.taskId !== undefined && c.taskId !== taskId) return { ok: false, reason: "altered", detail: `signed for task ${String(c.taskId)}, not ${taskId}` };
    if (c.target !== undefined && c.target !== host) return { ok: false, reason: "altered", detail: `signed for host ${String(c.target)}, not ${host}` };
  }
  const v = verifier.verify(input ?? null, now);
  if (!v.ok) return v;
  return { ok: true, argv: v.command.argv, expiresAt: v.command.expiresAt, keyId: v.command.keyId };
}

export interface CommandRunDeps {
  store: AgentStore;
  agentId: string;
  host: string;
  verifier: CommandVerifier | undefined;
  timeoutMs: number;
  log: Logger;
  /** Write the result through a database outage (run-executor's persist). */
  persist: (log: Logger, write: () => Promise<boolean>) => Promise<void>;
}

/**
 * Run a signed ad-hoc command: refuse (run failed, reason recorded) unless the signature gate
 * accepts it; then one recorded step running the argv with execa (no shell), a timeout and an
 * output cap. Succeeded iff exit 0. A dry run verifies and records, and executes nothing.
 */
export async function executeCommandRun(
  deps: CommandRunDeps,
  run: ClaimedRun,
  command: unknown,
  dryRun: boolean,
  signal: AbortSignal,
): Promise<"finished" | "lost"> {
  const log = deps.log.child({ runId: run.run_id, taskId: run.task_id, playbook: COMMAND_PLAYBOOK });
  const gate: CommandGate = deps.verifier
    ? gateCommand(deps.verifier, command, run.task_id, deps.host)
    : { ok: false, reason: "untrusted_key", detail: "this agent trusts no command keys (trusted_command_keys is empty)" };
  if (!gate.ok) {
    const label = refusalLabel[gate.reason];
    const summary = `ad-hoc command refused (${label}): ${gate.detail}`;
    log.warn({ refusal: gate.reason }, summary);
    await deps.persist(log, () =>
      deps.store.finishRun(run.run_id, deps.agentId, "failed", summary, { reason: "command_refused", refusal: label, error_line: summary, dry_run: dryRun }),
    );
    return "finished";
  }
  const started = await deps.store.startRun(run.run_id, deps.agentId, COMMAND_PLAYBOOK, false, dryRun);
  if (!started) return "lost";
  const args = { argv: gate.argv, key_id: gate.keyId, expires_at: gate.expiresAt, timeout_ms: deps.timeoutMs };
  // Recorded before acting: without the audit row the command does not run.
  const stepId = await deps.store.recordStep(run.run_id, deps.agentId, "remediate", "command", args);
  if (dryRun) {
    const detail = `dry run: signature accepted (key ${gate.keyId}); would run ${JSON.stringify(gate.argv)}`;
    await deps.store.finishStep(stepId, deps.agentId, { status: "dry_run", detail });
    await deps.persist(log, () => deps.store.finishRun(run.run_id, deps.agentId, "succeeded", detail, { command: gate.argv, dry_run: true }));
    return "finished";
  }
  let r: ExecResult;
  try {
    r = await runCommand(gate.argv, { timeoutMs: deps.timeoutMs, outputCapBytes: OUTPUT_CAP_BYTES, signal });
  } catch (err) {
    const detail = `could not run ${gate.argv[0]}: ${errorMessage(err)}`;
    await deps.store.finishStep(stepId, deps.agentId, { status: "failed", detail }).catch(() => undefined);
    await deps.persist(log, () => deps.store.finishRun(run.run_id, deps.agentId, "failed", detail, { command: gate.argv, error_line: detail, dry_run: false }));
    return "finished";
  }
  const tail = outputTail(r);
  const ok = r.exitCode === 0 && !r.timedOut && !r.failedToStart;
  const how = describeExit(r, deps.timeoutMs);
  await deps.store.finishStep(stepId, deps.agentId, {
    status: ok ? "ok" : "failed",
    detail: how,
    ...(r.exitCode === null ? {} : { exitCode: r.exitCode }),
    outputTail: tail,
    durationMs: r.durationMs,
  });
  const lastLine = tail.trim().split("\n").at(-1) ?? "";
  const summary = ok ? `command ${JSON.stringify(gate.argv)}: exit 0` : `command ${JSON.stringify(gate.argv)} failed: ${how}${lastLine ? `: ${lastLine}` : ""}`;
  await deps.persist(log, () =>
    deps.store.finishRun(run.run_id, deps.agentId, ok ? "succeeded" : "failed", summary, {
      command: gate.argv,
      exit_code: r.exitCode,
      output_tail: tail,
      ...(ok ? {} : { error_line: lastLine || how }),
      dry_run: false,
    }),
  );
  log.info({ exitCode: r.exitCode, ok }, "ad-hoc command finished");
  return "finished";
}
