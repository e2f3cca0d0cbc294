import type { ServiceConfig } from "../actions/config.ts";
import { readMemoryUsage, readProcTable, type MemoryUsage } from "../actions/proc-table.ts";
import { formatBytes } from "../disk-full/format.ts";
import { SERVICE_LABELS } from "../service-down/config.ts";
import { groupConsumers, processEvidence, type Consumer } from "../shared/consumers.ts";
import { chooseOffender, resolveNamedService, restartServiceStep } from "../shared/offender.ts";
import { attributeProcesses } from "../shared/process-owner.ts";
import { captureLogs, checkHealth, healthy } from "../shared/service-evidence.ts";
import type { Diagnosis, Phase, Playbook, PlaybookContext } from "../types.ts";
import { HIGH_MEMORY_ALERTNAMES, highMemoryConfigSchema, type HighMemoryConfig } from "./config.ts";

interface State {
  name: string;
  service: ServiceConfig;
  /** RSS of the service's processes before the restart. */
  beforeBytes: number;
}

interface Reading {
  memory: MemoryUsage;
  consumers: Consumer[];
}

/** Host memory and the processes holding it, attributed to allow-listed services; two recorded steps. */
async function measure(ctx: PlaybookContext<HighMemoryConfig>, phase: Phase): Promise<{ reading: Reading; evidence: Record<string, unknown> }> {
  let memory: MemoryUsage | null = null;
  await ctx.step(phase, "memory_usage", {}, async () => {
    memory = await readMemoryUsage();
    return { status: "ok", detail: `${memory.usedPercent.toFixed(0)}% used, ${formatBytes(memory.availableBytes)} available of ${formatBytes(memory.totalBytes)}`, data: memory };
  });
  const n = ctx.config.top_processes;
  let consumers: Consumer[] = [];
  let top: Record<string, unknown>[] = [];
  await ctx.step(phase, "top_processes", { by: "memory", n }, async () => {
    const table = await readProcTable();
    const owned = await attributeProcesses(ctx.actions.config, table);
    consumers = groupConsumers(owned, (p) => p.rssBytes);
    top = [...owned]
      .sort((a, b) => b.proc.rssBytes - a.proc.rssBytes)
      .slice(0, n)
      .map((o) => processEvidence(o, (p) => ({ rss_bytes: p.rssBytes, rss: formatBytes(p.rssBytes) })));
    return { status: "ok", detail: consumers.slice(0, 3).map((c) => `${c.label} ${formatBytes(c.value)}`).join(", "), data: top };
  });
  const m = memory as MemoryUsage | null;
  if (!m) throw new Error("memory_usage step finished without a reading");
  const evidence = {
    memory: m,
    top_processes: top,
    top_consumers: consumers.slice(0, 5).map((c) => ({ consumer: c.label, service: c.service, rss_bytes: c.value, pids: c.pids.slice(0, 20) })),
  };
  return { reading: { memory: m, consumers }, evidence };
}

/**
 * high-memory: find what holds the memory; restart it only when it is an allow-listed, restartable
 * service (as service-down); otherwise escalate with the top processes, their RSS, units and cgroups.
 */
export const highMemoryPlaybook: Playbook<HighMemoryConfig, State | null> = {
  name: "high-memory",
  version: "1.0.0",
  description: "Finds the top memory consumers; restarts the offender only if it is an allow-listed service, else escalates with the evidence.",
  risk: "medium",
  blastRadius: "service",
  idempotent: true,
  runbook: "docs/runbooks/high-memory.md",
  configSchema: highMemoryConfigSchema,
  match(labels) {
    if (labels.ccm_playbook === "high-memory") return { quality: 1, reason: "label ccm_playbook=high-memory" };
    if (HIGH_MEMORY_ALERTNAMES.includes(labels.alertname ?? "")) return { quality: 0.9, reason: `alertname ${labels.alertname} is a memory alert` };
    return null;
  },
  async diagnose(ctx): Promise<Diagnosis<State | null>> {
    const { named, refusal } = await resolveNamedService(ctx, SERVICE_LABELS);
    if (refusal) return refusal;
    const { reading, evidence } = await measure(ctx, "diagnose");
    const { memory, consumers } = reading;
    const used = `memory ${memory.usedPercent.toFixed(0)}% used`;
    if (memory.usedPercent < ctx.config.min_used_percent) {
      return { verdict: "no_action", confirmed: false, summary: `${used}, below ${ctx.config.min_used_percent}%: nothing to do`, findings: evidence, proposal: [], state: null };
    }
    const share = (c: Consumer) => (memory.totalBytes > 0 ? (100 * c.value) / memory.totalBytes : 0);
    const choice = chooseOffender({
      actions: ctx.actions.config,
      named,
      consumers,
      describe: (c) => `${formatBytes(c.value)} (${share(c).toFixed(0)}% of memory)`,
      bigEnough: (c) => share(c) >= ctx.config.min_share_percent,
      threshold: `${ctx.config.min_share_percent}% of memory`,
      restart: true,
    });
    const summary = `${used}; ${choice.summary}`;
    const suspect = choice.suspect;
    const logs = suspect ? await captureLogs(ctx, "diagnose", suspect.name, suspect.service, ctx.config.log_lines) : null;
    const target = choice.target;
    if (!target) {
      return { verdict: "escalate", confirmed: choice.confirmed, summary, findings: { ...evidence, ...(suspect && { service: suspect.name, logs }) }, proposal: [], state: null };
    }
    const beforeBytes = consumers.find((c) => c.service === target.name)?.value ?? 0;
    return {
      verdict: "remediate",
      confirmed: choice.confirmed,
      summary,
      findings: { ...evidence, service: target.name, logs },
      proposal: [{ action: "restart_service", target: target.name, detail: `${target.name} holds ${formatBytes(beforeBytes)} (${used})` }],
      state: { ...target, beforeBytes },
    };
  },
  async remediate(ctx, d) {
    if (!d.state) throw new Error("high-memory remediate called without a target");
    return restartServiceStep(ctx, d.state.name);
  },
  async verify(ctx, d) {
    if (!d.state) throw new Error("high-memory verify called without a target");
    const { name, service, beforeBytes } = d.state;
    const health = await checkHealth(ctx, "verify", name, service, ctx.dryRun ? 0 : ctx.config.verify_within_ms);
    const { reading, evidence } = await measure(ctx, "verify");
    const afterBytes = reading.consumers.find((c) => c.service === name)?.value ?? 0;
    const relieved = afterBytes <= beforeBytes / 2 || reading.memory.usedPercent < ctx.config.min_used_percent;
    const details = { after: { health, ...evidence, service_rss_bytes: afterBytes } };
    const state = `${health.state}${health.probe ? ` and ${health.probe.detail}` : ""}`;
    const change = `its memory ${formatBytes(beforeBytes)} -> ${formatBytes(afterBytes)}, host ${reading.memory.usedPercent.toFixed(0)}% used`;
    if (ctx.dryRun) return { ok: false, summary: `dry run: would restart ${name} (${d.summary})`, details };
    if (!healthy(health)) {
      const logs = await captureLogs(ctx, "verify", name, service, ctx.config.log_lines);
      return { ok: false, summary: `${name} did not come back after a restart (${state}); last log lines attached`, details: { ...details, logs } };
    }
    if (!relieved) return { ok: false, summary: `restarted ${name} (${state}) but memory was not relieved: ${change}`, details };
    return { ok: true, summary: `restarted ${name}; it is ${state}; ${change}`, details };
  },
};
