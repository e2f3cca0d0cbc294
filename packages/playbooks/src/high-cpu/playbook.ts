import type { ServiceConfig } from "../actions/config.ts";
import { sampleCpu, type CpuSample } from "../actions/proc-table.ts";
import { SERVICE_LABELS } from "../service-down/config.ts";
import { groupConsumers, processEvidence, type Consumer } from "../shared/consumers.ts";
import { chooseOffender, resolveNamedService, restartServiceStep } from "../shared/offender.ts";
import { attributeProcesses } from "../shared/process-owner.ts";
import { captureLogs, checkHealth, healthy } from "../shared/service-evidence.ts";
import type { Diagnosis, Phase, Playbook, PlaybookContext } from "../types.ts";
import { HIGH_CPU_ALERTNAMES, highCpuConfigSchema, type HighCpuConfig } from "./config.ts";

interface State {
  name: string;
  service: ServiceConfig;
  /** CPU of the service's processes before the restart, percent of one core. */
  beforePercent: number;
}

type Host = Omit<CpuSample, "processes">;

const pct = (n: number) => `${n.toFixed(0)}%`;

/** CPU use sampled over `sample_ms` and the processes using it, attributed to allow-listed services. */
async function measure(ctx: PlaybookContext<HighCpuConfig>, phase: Phase): Promise<{ host: Host; consumers: Consumer[]; evidence: Record<string, unknown> }> {
  let sample: CpuSample | null = null;
  await ctx.step(phase, "cpu_sample", { interval_ms: ctx.config.sample_ms }, async () => {
    sample = await sampleCpu(ctx.config.sample_ms, ctx.signal);
    const { processes: _p, ...host } = sample;
    return { status: "ok", detail: `${pct(sample.busyPercent)} busy over ${sample.intervalMs} ms, load ${sample.loadavg.map((l) => l.toFixed(2)).join(" ")} on ${sample.cores} cores`, data: host };
  });
  const s = sample as CpuSample | null;
  if (!s) throw new Error("cpu_sample step finished without a sample");
  const n = ctx.config.top_processes;
  let consumers: Consumer[] = [];
  let top: Record<string, unknown>[] = [];
  await ctx.step(phase, "top_processes", { by: "cpu", n }, async () => {
    const busy = s.processes.filter((p) => p.cpuPercent > 0);
    const owned = await attributeProcesses(ctx.actions.config, busy);
    consumers = groupConsumers(owned, (p) => p.cpuPercent);
    top = [...owned]
      .sort((a, b) => b.proc.cpuPercent - a.proc.cpuPercent)
      .slice(0, n)
      .map((o) => processEvidence(o, (p) => ({ cpu_percent: Math.round(p.cpuPercent * 10) / 10, rss_bytes: p.rssBytes })));
    return { status: "ok", detail: consumers.slice(0, 3).map((c) => `${c.label} ${pct(c.value)}`).join(", ") || "no process used CPU", data: top };
  });
  const { processes: _p, ...host } = s;
  const evidence = {
    cpu: host,
    top_processes: top,
    top_consumers: consumers.slice(0, 5).map((c) => ({ consumer: c.label, service: c.service, cpu_percent: Math.round(c.value * 10) / 10, pids: c.pids.slice(0, 20) })),
  };
  return { host, consumers, evidence };
}

/**
 * high-cpu: sample what uses the CPU and escalate with it. It restarts nothing unless `restart: true`,
 * and then only an allow-listed, restartable service that is the top consumer (as high-memory).
 */
export const highCpuPlaybook: Playbook<HighCpuConfig, State | null> = {
  name: "high-cpu",
  version: "1.0.0",
  description: "Samples the top CPU consumers and the load, escalates with them; optionally restarts an allow-listed offender.",
  risk: "medium",
  blastRadius: "service",
  idempotent: true,
  runbook: "docs/runbooks/high-cpu.md",
  configSchema: highCpuConfigSchema,
  match(labels) {
    if (labels.ccm_playbook === "high-cpu") return { quality: 1, reason: "label ccm_playbook=high-cpu" };
    if (HIGH_CPU_ALERTNAMES.includes(labels.alertname ?? "")) return { quality: 0.9, reason: `alertname ${labels.alertname} is a CPU alert` };
    return null;
  },
  async diagnose(ctx): Promise<Diagnosis<State | null>> {
    const { named, refusal } = await resolveNamedService(ctx, SERVICE_LABELS);
    if (refusal) return refusal;
    const { host, consumers, evidence } = await measure(ctx, "diagnose");
    const busy = `CPU ${pct(host.busyPercent)} busy over ${host.intervalMs} ms (load ${host.loadavg[0]?.toFixed(2)} on ${host.cores} cores)`;
    if (host.busyPercent < ctx.config.min_busy_percent) {
      return { verdict: "no_action", confirmed: false, summary: `${busy}, below ${ctx.config.min_busy_percent}%: nothing to do`, findings: evidence, proposal: [], state: null };
    }
    const choice = chooseOffender({
      actions: ctx.actions.config,
      named,
      consumers,
      describe: (c) => `${c.value.toFixed(1)}% of a core`,
      bigEnough: (c) => c.value >= ctx.config.min_cpu_percent,
      threshold: `${ctx.config.min_cpu_percent}% of a core`,
      restart: ctx.config.restart ? true : "high-cpu does not restart (playbooks.high-cpu.restart is false)",
    });
    const summary = `${busy}; ${choice.summary}`;
    const suspect = choice.suspect;
    const logs = suspect ? await captureLogs(ctx, "diagnose", suspect.name, suspect.service, ctx.config.log_lines) : null;
    const findings = { ...evidence, ...(suspect && { service: suspect.name, logs }) };
    const target = choice.target;
    if (!target) return { verdict: "escalate", confirmed: choice.confirmed, summary, findings, proposal: [], state: null };
    const beforePercent = consumers.find((c) => c.service === target.name)?.value ?? 0;
    return {
      verdict: "remediate",
      confirmed: choice.confirmed,
      summary,
      findings,
      proposal: [{ action: "restart_service", target: target.name, detail: `${target.name} uses ${pct(beforePercent)} of a core` }],
      state: { ...target, beforePercent },
    };
  },
  async remediate(ctx, d) {
    if (!d.state) throw new Error("high-cpu remediate called without a target");
    return restartServiceStep(ctx, d.state.name);
  },
  async verify(ctx, d) {
    if (!d.state) throw new Error("high-cpu verify called without a target");
    const { name, service, beforePercent } = d.state;
    const health = await checkHealth(ctx, "verify", name, service, ctx.dryRun ? 0 : ctx.config.verify_within_ms);
    if (ctx.dryRun) return { ok: false, summary: `dry run: would restart ${name} (${d.summary})`, details: { after: { health } } };
    const state = `${health.state}${health.probe ? ` and ${health.probe.detail}` : ""}`;
    if (!healthy(health)) {
      const logs = await captureLogs(ctx, "verify", name, service, ctx.config.log_lines);
      return { ok: false, summary: `${name} did not come back after a restart (${state}); last log lines attached`, details: { after: { health }, logs } };
    }
    const { host, consumers, evidence } = await measure(ctx, "verify");
    const afterPercent = consumers.find((c) => c.service === name)?.value ?? 0;
    const relieved = afterPercent <= beforePercent / 2 || host.busyPercent < ctx.config.min_busy_percent;
    const change = `its CPU ${pct(beforePercent)} -> ${pct(afterPercent)} of a core, host ${pct(host.busyPercent)} busy`;
    const details = { after: { health, ...evidence, service_cpu_percent: afterPercent } };
    if (!relieved) return { ok: false, summary: `restarted ${name} (${state}) but CPU was not relieved: ${change}`, details };
    return { ok: true, summary: `restarted ${name}; it is ${state}; ${change}`, details };
  },
};
