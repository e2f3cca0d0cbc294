import type { z } from "zod";
import type { Logger } from "@ccm/logger";
import type { HostActions } from "./actions/host-actions.ts";

export type Phase = "diagnose" | "remediate" | "verify";
export type Risk = "low" | "medium" | "high";
/** How much of a host one remediation can disturb; feeds confidence. */
export type BlastRadius = "none" | "files" | "process" | "service" | "host";

/** The alert data a run works on. Labels and annotations are untrusted data: never a shell, never a path root. */
export interface RunInput {
  runId: string;
  taskId: string;
  alertname: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Parameters of a broadcast run, already validated with the playbook's `params` schema; absent for alerts. */
  params?: Readonly<Record<string, unknown>>;
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
  /** Typed host actions (services, probes, facts, allow-listed commands), configured on the agent. */
  actions: HostActions;
}

export interface PlaybookResult {
  status: "succeeded" | "failed" | "escalated";
  /** One line a human reads in `ccm tasks show` and Slack. */
  summary: string;
  details?: Record<string, unknown>;
}

/** How well an alert matched a playbook: quality in [0,1] feeds confidence; reason is shown to humans. */
export interface MatchResult {
  quality: number;
  reason: string;
}

/** One thing a remediation would change; the unit a human approves. */
export interface ProposedAction {
  action: string;
  target: string;
  detail?: string;
}

/** What diagnosis concluded. It is read-only: nothing on the host has changed yet. */
export interface Diagnosis<S = unknown> {
  /** remediate: there is a fix to propose; no_action: nothing is wrong (any more); escalate: only a human can help. */
  verdict: "remediate" | "no_action" | "escalate";
  /** Did the evidence confirm the cause this playbook fixes? null: inconclusive. */
  confirmed: boolean | null;
  summary: string;
  /** Evidence for a human (JSON); stored on the run. */
  findings: Record<string, unknown>;
  proposal: ProposedAction[];
  /** Handed to remediate/verify of the same run; never stored. */
  state: S;
}

export interface Remediation {
  summary: string;
  details?: Record<string, unknown>;
}

export interface Verification {
  /** The problem is gone. Feeds the track record (unless a dry run). */
  ok: boolean;
  summary: string;
  details?: Record<string, unknown>;
}

/** Confidence bands: score >= auto fixes on its own; >= approve asks a human; below escalates. */
export interface Thresholds {
  auto: number;
  approve: number;
}

/**
 * A playbook on the engine: diagnose (read-only) -> the engine scores confidence and applies the
 * safety rails -> remediate -> verify. Built-ins are TypeScript modules; operators write YAML (see yaml/).
 */
export interface Playbook<C = unknown, S = unknown> {
  name: string;
  version: string;
  description: string;
  risk: Risk;
  blastRadius: BlastRadius;
  /** Safe to run again after an interruption (the run is re-queued rather than marked unknown). */
  idempotent: boolean;
  /** Null when this playbook does not handle an alert with these labels. */
  match(labels: Record<string, string>): MatchResult | null;
  /** Schema of `playbooks.<name>` in the agent config; its defaults apply when the section is absent. */
  configSchema: z.ZodType<C>;
  /** Parameters a broadcast may pass (validated on the agent before the run starts); absent = takes none. */
  params?: z.ZodType<Record<string, unknown>>;
  /** Per-playbook bands (default auto 0.9, approve 0.5). */
  thresholds?: Partial<Thresholds>;
  /** Prior verified outcomes the track record starts from (default none: a new playbook starts cautious). */
  prior?: { successes: number; failures: number };
  /** Where a human reads what this playbook does (docs/runbooks/<name>.md) or the runbook text itself. */
  runbook: string;
  diagnose(ctx: PlaybookContext<C>): Promise<Diagnosis<S>>;
  remediate(ctx: PlaybookContext<C>, diagnosis: Diagnosis<S>): Promise<Remediation>;
  verify(ctx: PlaybookContext<C>, diagnosis: Diagnosis<S>, remediation: Remediation): Promise<Verification>;
}

/** Thrown by a playbook when it cannot go on for a reason a human must see (bad label, missing config). */
export class PlaybookInputError extends Error {
  override readonly name = "PlaybookInputError";
}
