import { allowedService } from "../actions/services.ts";
import type { ServiceConfig } from "../actions/config.ts";
import { restartServiceStep } from "../shared/offender.ts";
import { captureLogs, checkHealth, healthy, serviceLabel, type ServiceHealth } from "../shared/service-evidence.ts";
import type { Diagnosis, Playbook } from "../types.ts";
import { SERVICE_DOWN_ALERTNAMES, SERVICE_LABELS, serviceDownConfigSchema, type ServiceDownConfig } from "./config.ts";

interface State {
  name: string;
  service: ServiceConfig;
}

/**
 * service-down: confirm the service is down (status, probe), capture its last log lines, restart it
 * only if it is in the allow-list and restartable, verify by probe; escalate with the logs otherwise.
 */
export const serviceDownPlaybook: Playbook<ServiceDownConfig, State> = {
  name: "service-down",
  version: "1.0.0",
  description: "Restarts an allow-listed service that is down, verifies it by port/HTTP probe, escalates with its logs.",
  risk: "medium",
  blastRadius: "service",
  idempotent: true,
  runbook: "docs/runbooks/service-down.md",
  configSchema: serviceDownConfigSchema,
  match(labels) {
    const named = serviceLabel(labels, SERVICE_LABELS);
    if (!named) return null;
    if (labels.ccm_playbook === "service-down") return { quality: 1, reason: "label ccm_playbook=service-down" };
    if (SERVICE_DOWN_ALERTNAMES.includes(labels.alertname ?? "")) {
      return { quality: 0.9, reason: `alertname ${labels.alertname} names a service` };
    }
    return null;
  },
  async diagnose(ctx): Promise<Diagnosis<State>> {
    const label = serviceLabel(ctx.input.labels, SERVICE_LABELS);
    const found = allowedService(ctx.actions.config, label);
    await ctx.step("diagnose", "resolve_service", { label: label ?? null }, async () =>
      found
        ? { status: "ok", detail: `allow-listed service ${found.name}${found.service.restart ? "" : " (not restartable)"}` }
        : { status: "skipped", detail: "not in actions.services: never touched" },
    );
    if (!found) {
      return {
        verdict: "escalate",
        confirmed: null,
        summary: `service ${JSON.stringify((label ?? "(none)").slice(0, 80))} is not in this host's allow-list (actions.services), so it is not restarted`,
        findings: { service_label: label ?? null },
        proposal: [],
        state: { name: "", service: { restart: false, processes: [] } },
      };
    }
    const { name, service } = found;
    const health: ServiceHealth = await checkHealth(ctx, "diagnose", name, service);
    const logs = await captureLogs(ctx, "diagnose", name, service, ctx.config.log_lines);
    const findings = { service: name, state: health.state, active: health.active, probe: health.probe, logs };
    const state = { name, service };
    if (healthy(health)) {
      return { verdict: "no_action", confirmed: false, summary: `${name} is ${health.state}${health.probe ? ` and ${health.probe.detail}` : ""}: nothing to do`, findings, proposal: [], state };
    }
    const why = !health.active ? `${name} is ${health.state}` : `${name} is ${health.state} but its probe fails (${health.probe?.detail})`;
    if (!service.restart) {
      return { verdict: "escalate", confirmed: true, summary: `${why}; restart is not allowed for it (actions.services.${name}.restart: false)`, findings, proposal: [], state };
    }
    return {
      verdict: "remediate",
      // Running-but-unhealthy is a weaker case for a restart than a stopped unit.
      confirmed: health.active ? null : true,
      summary: why,
      findings,
      proposal: [{ action: "restart_service", target: name, detail: why }],
      state,
    };
  },
  remediate: (ctx, d) => restartServiceStep(ctx, d.state.name),
  async verify(ctx, d) {
    const { name, service } = d.state;
    const health = await checkHealth(ctx, "verify", name, service, ctx.dryRun ? 0 : ctx.config.verify_within_ms);
    if (healthy(health)) {
      return { ok: true, summary: `restarted ${name}; it is ${health.state}${health.probe ? ` and ${health.probe.detail}` : ""}`, details: { after: health } };
    }
    if (ctx.dryRun) return { ok: false, summary: `dry run: would restart ${name} (${d.summary})`, details: { after: health } };
    const logs = await captureLogs(ctx, "verify", name, service, ctx.config.log_lines);
    return { ok: false, summary: `${name} did not come back after a restart (${health.state}${health.probe ? `, ${health.probe.detail}` : ""}); last log lines attached`, details: { after: health, logs } };
  },
};
