import type { z } from "zod";
import type { Logger } from "@ccm/logger";

export type Phase = "diagnose" | "remediate" | "verify";
export type Risk = "low" | "medium" | "high";

/** The alert data a run works on. Labels and annotations are untrusted data: never a shell, never a path root. */
export interface RunInput {
  runId: string;
  taskId: string;
  alertname: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** What a step's action reports back; written to ccm.run_steps. */
export interface StepOutcome {
  status: "ok" | "failed" | "skipped" | "dry_run";
  detail?: string;
  data?: unknown;
  exitCode?: number;
  outputTail?: string;
}

/**
 * Records one action: writes the step (what, args) before `fn` runs and its outcome after,
 * so an interrupted run shows exactly how far it got. A throw from `fn` is recorded as failed and rethrown.
 */
export type StepRecorder = <T extends StepOutcome>(
  phase: Phase,
  action: string,
  args: Record<string, unknown>,
  fn: () => Promise<T>,
) => Promise<T>;

export interface PlaybookContext<C> {
  input: RunInput;
  /** This playbook's validated section of the agent config (`playbooks.<name>`). */
  config: C;
  dryRun: boolean;
  /** Aborted when the agent shuts down or the run is cancelled; check it between actions. */
  signal: AbortSignal;
  log: Logger;
  step: StepRecorder;
}

export interface PlaybookResult {
  status: "succeeded" | "failed" | "escalated";
  /** One line a human reads in `ccm tasks show` and Slack. */
  summary: string;
  details?: Record<string, unknown>;
}

export interface Playbook<C = unknown> {
  name: string;
  version: string;
  description: string;
  risk: Risk;
  /** Safe to run again after an interruption (the run is re-queued rather than marked unknown). */
  idempotent: boolean;
  /** Whether this playbook handles an alert with these labels. */
  matches(labels: Record<string, string>): boolean;
  /** Schema of `playbooks.<name>` in the agent config; its defaults apply when the section is absent. */
  configSchema: z.ZodType<C>;
  run(ctx: PlaybookContext<C>): Promise<PlaybookResult>;
}

/** Thrown by a playbook when it cannot go on for a reason a human must see (bad label, missing config). */
export class PlaybookInputError extends Error {
  override readonly name = "PlaybookInputError";
}
