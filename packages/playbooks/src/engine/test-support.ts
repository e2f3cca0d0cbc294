// Shared by playbook tests: a context whose steps are kept in memory, and engine hooks without a database.
import { silentLogger } from "@ccm/logger";
import { createHostActions, type HostActions } from "../actions/host-actions.ts";
import type { PlaybookContext, StepOutcome, StepRecorder } from "../types.ts";
import type { EngineHooks, EngineOptions } from "./run-playbook.ts";
import type { GateBlock } from "./rails.ts";

export interface MemoryStep {
  phase: string;
  action: string;
  args: Record<string, unknown>;
  outcome?: StepOutcome;
  error?: unknown;
}

export function memoryContext<C>(
  config: C,
  labels: Record<string, string>,
  opts: { actions?: HostActions; dryRun?: boolean; signal?: AbortSignal } = {},
): { ctx: PlaybookContext<C>; steps: MemoryStep[] } {
  const steps: MemoryStep[] = [];
  const step: StepRecorder = async (phase, action, args, fn) => {
    const s: MemoryStep = { phase, action, args };
    steps.push(s);
    try {
      const outcome = await fn();
      s.outcome = outcome;
      return outcome;
    } catch (err) {
      s.error = err;
      throw err;
    }
  };
  return {
    steps,
    ctx: {
      input: { runId: "run-1", taskId: "task-1", alertname: labels.alertname ?? null, labels, annotations: {} },
      config,
      dryRun: opts.dryRun ?? false,
      signal: opts.signal ?? new AbortController().signal,
      log: silentLogger(),
      step,
      actions: opts.actions ?? createHostActions({}),
    },
  };
}

/** Hooks with a given track record and no rails in the way; outcomes are collected. */
export function memoryHooks(track = { successes: 50, failures: 0 }, gate: GateBlock | null = null): EngineHooks & { outcomes: boolean[] } {
  const outcomes: boolean[] = [];
  return {
    outcomes,
    trackRecord: async () => track,
    saveConfidence: async () => undefined,
    gate: async () => gate,
    beginRemediation: async () => ({ ok: true }),
    recordOutcome: async (ok) => void outcomes.push(ok),
  };
}

export const engineOptions = (over: Partial<EngineOptions> = {}): EngineOptions => ({
  match: { quality: 1, reason: "test" },
  approval: null,
  stopFile: null,
  recheckMs: 50,
  concurrencyWaitMs: 100,
  maintenanceWaitMs: 1_000,
  ...over,
});
