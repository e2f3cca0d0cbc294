import { describeExit, outputTail } from "../actions/exec.ts";
import type { Diagnosis, Playbook, PlaybookContext } from "../types.ts";
import { unknownConfigSchema, type UnknownConfig } from "./config.ts";

export interface EvidenceBundle {
  alert: { alertname: string | null; labels: Record<string, string>; annotations: Record<string, string> };
  facts: unknown;
  top_by_memory: unknown;
  top_by_cpu: unknown;
  logs: Record<string, string>;
}

async function collect<T>(ctx: PlaybookContext<UnknownConfig>, action: string, args: Record<string, unknown>, fn: () => Promise<T>, describe: (v: T) => string): Promise<T | null> {
  let value: T | null = null;
  await ctx.step("diagnose", action, args, async () => {
    try {
      value = await fn();
      return { status: "ok", detail: describe(value), data: value };
    } catch (err) {
      return { status: "failed", detail: (err as Error).message.slice(0, 300) };
    }
  });
  return value;
}

/** Evidence for a human: facts, top processes, recent logs, and optionally an investigator's notes. */
async function gather(ctx: PlaybookContext<UnknownConfig>): Promise<{ bundle: EvidenceBundle; investigator: Record<string, unknown> | null }> {
  const n = ctx.config.top_processes;
  const facts = await collect(ctx, "host_facts", {}, () => ctx.actions.facts(), (f) => `memory ${f.memory.usedPercent.toFixed(0)}% used, CPU ${f.cpu.loadPercent.toFixed(0)}%`);
  const byMem = await collect(ctx, "top_processes", { by: "memory", n }, () => ctx.actions.topProcesses("memory", n), (p) => p.map((x) => x.name).slice(0, 5).join(", "));
  const byCpu = await collect(ctx, "top_processes", { by: "cpu", n }, () => ctx.actions.topProcesses("cpu", n), (p) => p.map((x) => x.name).slice(0, 5).join(", "));
  const logs: Record<string, string> = {};
  for (const file of ctx.config.log_files) {
    const tail = await collect(ctx, "log_tail", { file, lines: ctx.config.log_lines }, () => ctx.actions.tailLog(file, ctx.config.log_lines), (t) => `${t.split("\n").length} lines`);
    if (tail !== null) logs[file] = tail;
  }
  if (ctx.config.journal && ctx.actions.config.service_manager === "systemd") {
    const argv = ["journalctl", "--no-pager", "-o", "short-iso", "-p", "warning", "-n", String(ctx.config.log_lines)];
    const j = await collect(ctx, "journal_tail", { priority: "warning", lines: ctx.config.log_lines }, () => ctx.actions.run(argv, ctx.signal), describeExit);
    if (j && j.exitCode === 0) logs.journal = j.stdoutTail.slice(-16_000);
  }
  const bundle: EvidenceBundle = {
    alert: { alertname: ctx.input.alertname, labels: ctx.input.labels, annotations: ctx.input.annotations },
    facts,
    top_by_memory: byMem,
    top_by_cpu: byCpu,
    logs,
  };

  let investigator: Record<string, unknown> | null = null;
  const inv = ctx.config.investigator;
  if (inv) {
    // The bundle goes to stdin as data; what comes back is only ever stored and shown, never run.
    await ctx.step("diagnose", "investigator", { argv: inv.argv }, async () => {
      const r = await ctx.actions.run(inv.argv, ctx.signal, { input: JSON.stringify(bundle), timeoutMs: inv.timeout_ms });
      const out = r.stdoutTail.slice(-inv.max_output_bytes);
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(out);
      } catch {
        parsed = null;
      }
      investigator = { exit: describeExit(r), output: parsed ?? out, note: "attached as findings; never executed" };
      return { status: r.exitCode === 0 ? "ok" : "failed", detail: describeExit(r), exitCode: r.exitCode ?? undefined, outputTail: outputTail(r) };
    });
  }
  return { bundle, investigator };
}

/**
 * unknown: the playbook for alerts no other playbook handles. It changes nothing: it collects an
 * evidence bundle (and an optional investigator's notes) and escalates with it.
 */
export const unknownPlaybook: Playbook<UnknownConfig, null> = {
  name: "unknown",
  version: "1.0.0",
  description: "For alerts nothing else handles: collects facts, top processes and recent logs, then escalates with them.",
  risk: "low",
  blastRadius: "none",
  idempotent: true,
  runbook: "docs/runbooks/unknown.md",
  configSchema: unknownConfigSchema,
  match: () => ({ quality: 0, reason: "fallback for alerts no playbook matches" }),
  async diagnose(ctx): Promise<Diagnosis<null>> {
    const { bundle, investigator } = await gather(ctx);
    const logCount = Object.keys(bundle.logs).length;
    return {
      verdict: "escalate",
      confirmed: null,
      summary: `no playbook handles alert ${ctx.input.alertname ?? "(no alertname)"}; evidence collected (facts, top processes, ${logCount} logs${investigator ? ", investigator notes" : ""})`,
      findings: { evidence: bundle, ...(investigator ? { investigator } : {}) },
      proposal: [],
      state: null,
    };
  },
  remediate: async () => ({ summary: "the unknown playbook never remediates" }),
  verify: async () => ({ ok: false, summary: "the unknown playbook never remediates" }),
};
