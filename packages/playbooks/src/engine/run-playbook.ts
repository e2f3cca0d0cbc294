import { PlaybookInputError, type Diagnosis, type MatchResult, type Playbook, type PlaybookContext, type ProposedAction, type Remediation, type StepRecorder, type Verification } from "../types.ts";
import { computeConfidence, type Confidence } from "./confidence.ts";
import { describeProposal, unapprovedActions } from "./proposal.ts";
import { describeGate, readStopFile, RemediationBlocked, type BeginResult, type GateBlock } from "./rails.ts";
import { sleep } from "../shared/sleep.ts";

/** What the engine needs from the hub's state; the agent implements it with the store. */
export interface EngineHooks {
  trackRecord(): Promise<{ successes: number; failures: number }>;
  saveConfidence(confidence: Confidence, proposal: ProposedAction[]): Promise<void>;
  /** Fleet pause and maintenance windows (ccm.remediation_gate). */
  gate(): Promise<GateBlock | null>;
  /** Budgets and fleet-wide concurrency (ccm.begin_remediation). */
  beginRemediation(opts: { approved: boolean; claim: boolean }): Promise<BeginResult>;
  recordOutcome(success: boolean): Promise<void>;
}

export interface EngineOptions {
  match: MatchResult;
  /** Set when this run continues an approved one: remediation may do what was approved, nothing more. */
  approval: { decidedBy: string; proposal: ProposedAction[] } | null;
  /** Local stop file checked before every remediation step. */
  stopFile: string | null;
  /** How often a waiting run re-checks a maintenance window or a concurrency slot. */
  recheckMs: number;
  /** Longest wait for a fleet-wide concurrency slot before escalating. */
  concurrencyWaitMs: number;
  /** Longest wait for a maintenance window (mode wait) to end before escalating. */
  maintenanceWaitMs: number;
  /**
   * Set when an operator asked for exactly this playbook (a fleet broadcast): their request is the
   * approval, so the confidence band does not gate it. Every safety rail still applies.
   */
  operatorIntent?: { by: string };
}

export type EngineStatus = "succeeded" | "failed" | "escalated" | "awaiting_approval" | "cancelled";

export interface EngineResult {
  status: EngineStatus;
  summary: string;
  details: Record<string, unknown>;
  proposal: ProposedAction[];
  confidence: Confidence | null;
}

/**
 * Run a playbook under the engine: diagnose, score confidence, decide (auto-fix, ask, escalate),
 * pass the safety rails, remediate (each step gated by pause/stop file/maintenance), verify, and feed
 * the verified outcome back into the track record.
 */
export async function runPlaybook<C, S>(
  playbook: Playbook<C, S>,
  ctx: PlaybookContext<C>,
  hooks: EngineHooks,
  opts: EngineOptions,
): Promise<EngineResult> {
  const base = { playbook: playbook.name, version: playbook.version, dry_run: ctx.dryRun, match: opts.match };
  const end = (status: EngineStatus, summary: string, extra: Record<string, unknown> = {}, confidence: Confidence | null = null, proposal: ProposedAction[] = []): EngineResult => ({
    status,
    summary,
    details: { ...base, ...(confidence && { confidence }), ...(proposal.length && { proposal }), ...extra },
    proposal,
    confidence,
  });

  let d: Diagnosis<S>;
  try {
    d = await playbook.diagnose(ctx);
  } catch (err) {
    if (err instanceof PlaybookInputError) return end("escalated", `${playbook.name}: ${err.message}`);
    throw err;
  }
  const findings = { findings: d.findings };

  const confidence = computeConfidence({
    match: opts.match,
    confirmed: d.confirmed,
    track: await hooks.trackRecord(),
    prior: playbook.prior,
    risk: playbook.risk,
    blastRadius: playbook.blastRadius,
    thresholds: playbook.thresholds,
  });
  await hooks.saveConfidence(confidence, d.proposal);

  if (d.verdict === "no_action") return end("succeeded", d.summary, findings, confidence);
  if (d.verdict === "escalate" || d.proposal.length === 0) return end("escalated", `${d.summary}: needs a human`, findings, confidence, d.proposal);

  let approved = false;
  if (opts.approval) {
    const extra = unapprovedActions(d.proposal, opts.approval.proposal);
    if (extra.length > 0) {
      return end("escalated", `situation changed since ${opts.approval.decidedBy} approved: now also proposes ${describeProposal(extra)}; needs a human`, findings, confidence, d.proposal);
    }
    approved = true;
  } else if (opts.operatorIntent) {
    approved = true;
  } else if (confidence.band === "escalate") {
    return end("escalated", `${d.summary}; confidence ${confidence.score.toFixed(2)} < ${confidence.thresholds.approve}: needs a human`, findings, confidence, d.proposal);
  } else if (confidence.band === "approve" && !ctx.dryRun) {
    return end("awaiting_approval", `${d.summary}; confidence ${confidence.score.toFixed(2)}: awaiting approval to ${describeProposal(d.proposal)}`, findings, confidence, d.proposal);
  }

  // The rails, once before acting; then pause/stop file/maintenance again before every remediation step.
  if (!ctx.dryRun) {
    try {
      await passRails(ctx, hooks, opts, approved);
    } catch (err) {
      if (!(err instanceof RemediationBlocked)) throw err;
      const status = err.rail === "maintenance" && err.details.mode === "skip" ? "cancelled" : "escalated";
      return end(status, `${d.summary}; not remediated: ${err.message}${status === "escalated" ? ": needs a human" : ""}`, { ...findings, blocked_by: err.rail, rail: err.details }, confidence, d.proposal);
    }
  }

  const gatedCtx: PlaybookContext<C> = { ...ctx, step: gatedStep(ctx, hooks, opts) };
  let r: Remediation;
  try {
    r = await playbook.remediate(gatedCtx, d);
  } catch (err) {
    if (err instanceof RemediationBlocked) {
      return end("escalated", `${d.summary}; remediation stopped part-way: ${err.message}: needs a human`, { ...findings, blocked_by: err.rail, rail: err.details }, confidence, d.proposal);
    }
    if (err instanceof PlaybookInputError) return end("escalated", `${playbook.name}: ${err.message}`, findings, confidence, d.proposal);
    throw err;
  }

  const v: Verification = await playbook.verify(ctx, d, r);
  if (!ctx.dryRun) await hooks.recordOutcome(v.ok);
  const prefix = ctx.dryRun && !/dry run/i.test(v.summary) ? `dry run (${confidence.band === "auto" ? "would fix on its own" : confidence.band === "approve" ? "would ask for approval" : "would escalate"}): ` : "";
  const who = approved && opts.approval ? `approved by ${opts.approval.decidedBy}: ` : "";
  const summary = `${who}${prefix}${v.summary}${v.ok || /needs a human$/.test(v.summary) ? "" : ": needs a human"}`;
  return end(v.ok ? "succeeded" : "escalated", summary, { ...findings, remediation: r.details ?? { summary: r.summary }, ...v.details, verified: v.ok }, confidence, d.proposal);
}

async function checkStopAndGate(hooks: EngineHooks, opts: EngineOptions): Promise<GateBlock | null> {
  const stop = await readStopFile(opts.stopFile);
  if (stop) throw new RemediationBlocked("stop_file", `stop file ${opts.stopFile} present (${stop})`, { stop_file: opts.stopFile, reason: stop });
  return hooks.gate();
}

async function passRails<C>(ctx: PlaybookContext<C>, hooks: EngineHooks, opts: EngineOptions, approved: boolean): Promise<void> {
  let gate = await checkStopAndGate(hooks, opts);
  if (gate?.kind === "maintenance" && gate.mode !== "skip") {
    const until = Date.now() + opts.maintenanceWaitMs;
    const first = gate;
    await ctx.step("remediate", "wait_maintenance_window", { window: first.name ?? null, ends_at: first.ends_at ?? null }, async () => {
      while (gate?.kind === "maintenance" && gate.mode !== "skip" && Date.now() < until && !ctx.signal.aborted) {
        await sleep(opts.recheckMs, ctx.signal);
        gate = await checkStopAndGate(hooks, opts);
      }
      return { status: gate ? "skipped" : "ok", detail: gate ? `still blocked: ${describeGate(gate)}` : `window ${first.name ?? ""} over` };
    });
  }
  if (gate) throw new RemediationBlocked(gate.kind, describeGate(gate), { ...gate });

  const deadline = Date.now() + opts.concurrencyWaitMs;
  const outcome = await ctx.step("remediate", "safety_rails", { approved }, async () => {
    for (;;) {
      const b = await hooks.beginRemediation({ approved, claim: true });
      if (b.ok || b.reason !== "concurrency" || Date.now() >= deadline || ctx.signal.aborted) {
        return { status: b.ok ? "ok" : "skipped", detail: b.ok ? "budget and fleet concurrency allow remediation" : `blocked: ${b.reason}`, data: b };
      }
      await sleep(opts.recheckMs, ctx.signal);
    }
  });
  const b = outcome.data as BeginResult;
  if (!b.ok) {
    const msg =
      b.reason === "budget"
        ? `remediation budget spent: ${String(b.count)} runs of this playbook on this host within ${String(b.per_interval)} (max ${String(b.max_per_host)})`
        : `fleet-wide concurrency limit: ${String(b.running)} remediations of this playbook already running (max ${String(b.max_concurrent)})`;
    throw new RemediationBlocked(b.reason, msg, b);
  }
}

/** The step recorder remediation gets: pause, stop file and maintenance are checked before each step. */
function gatedStep<C>(ctx: PlaybookContext<C>, hooks: EngineHooks, opts: EngineOptions): StepRecorder {
  return async (phase, action, args, fn) => {
    if (phase === "remediate" && !ctx.dryRun) {
      let blocked: RemediationBlocked | null = null;
      try {
        const gate = await checkStopAndGate(hooks, opts);
        if (gate) blocked = new RemediationBlocked(gate.kind, describeGate(gate), { ...gate });
      } catch (err) {
        if (!(err instanceof RemediationBlocked)) throw err;
        blocked = err;
      }
      if (blocked) {
        const b = blocked;
        await ctx.step(phase, action, { ...args, blocked_by: b.rail }, async () => ({ status: "skipped" as const, detail: `not done: ${b.message}` }));
        throw b;
      }
    }
    return ctx.step(phase, action, args, fn);
  };
}
