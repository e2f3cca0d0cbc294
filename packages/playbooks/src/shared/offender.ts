import { outputTail } from "../actions/exec.ts";
import type { HostActionsConfig, ServiceConfig } from "../actions/config.ts";
import { allowedService } from "../actions/services.ts";
import type { Diagnosis, PlaybookContext, Remediation } from "../types.ts";
import { serviceLabel } from "./service-evidence.ts";
import type { Consumer } from "./consumers.ts";

export interface OffenderChoice {
  verdict: "remediate" | "escalate";
  /** true: the service restarted is the top consumer; null: the alert named it but something else uses more. */
  confirmed: boolean | null;
  summary: string;
  target: { name: string; service: ServiceConfig } | null;
  /** The allow-listed service blamed, even when it is not restarted: its logs are evidence. */
  suspect: { name: string; service: ServiceConfig } | null;
}

export interface OffenderRules {
  actions: HostActionsConfig;
  /** The allow-listed service the alert names, if it names one. */
  named: { name: string; service: ServiceConfig } | null;
  consumers: readonly Consumer[];
  /** "600.0 MiB (25% of memory)" */
  describe(c: Consumer): string;
  /** The consumer uses enough to be worth blaming, and its threshold for the summary. */
  bigEnough(c: Consumer): boolean;
  threshold: string;
  /** true, or why this playbook will not restart (e.g. restart is off in its config). */
  restart: true | string;
}

/**
 * What a high-memory / high-cpu run may restart: the service the alert names, else the largest consumer,
 * and only when it is an allow-listed, restartable service (`actions.services`) that uses enough.
 */
export function chooseOffender(r: OffenderRules): OffenderChoice {
  let suspect: OffenderChoice["suspect"] = null;
  const esc = (summary: string, confirmed: boolean | null = null): OffenderChoice => ({ verdict: "escalate", confirmed, summary, target: null, suspect });
  const top = r.consumers[0];
  if (!top) return esc("no process could be read");
  const topText = `${top.label} uses ${r.describe(top)}`;
  const candidate = r.named ? r.consumers.find((c) => c.service === r.named?.name) : top;
  if (!candidate) return esc(`the alert names ${r.named?.name}, but no process of it was found; ${topText}`);
  const isTop = candidate === top;
  const what = isTop ? topText : `${candidate.label} (named by the alert) uses ${r.describe(candidate)}, but ${topText}`;
  if (!r.bigEnough(candidate)) return esc(`${what}: below ${r.threshold}, no single consumer to blame`);
  if (!candidate.service) return esc(`${what}; it is not an allow-listed service (actions.services), so nothing is restarted`, true);
  const service = r.actions.services[candidate.service] as ServiceConfig;
  suspect = { name: candidate.service, service };
  if (!service.restart) return esc(`${what}; restart is not allowed for it (actions.services.${candidate.service}.restart: false)`, true);
  if (r.restart !== true) return esc(`${what}; ${r.restart}`, true);
  return { verdict: "remediate", confirmed: isTop ? true : null, summary: what, target: suspect, suspect };
}

/** Restart an allow-listed service as one recorded remediation step (a dry run only says it would). */
export async function restartServiceStep<C>(ctx: PlaybookContext<C>, name: string): Promise<Remediation> {
  const r = await ctx.step("remediate", "restart_service", { service: name, manager: ctx.actions.services.kind }, async () => {
    if (ctx.dryRun) return { status: "dry_run" as const, detail: `would restart ${name}` };
    const res = await ctx.actions.services.restart(name, ctx.signal);
    return { status: res.ok ? ("ok" as const) : ("failed" as const), detail: `restart ${name}: ${res.detail}`, exitCode: res.exec.exitCode ?? undefined, outputTail: outputTail(res.exec) };
  });
  return { summary: r.detail ?? "", details: { restart: r.status } };
}

/**
 * The service an alert names (if any), checked against this host's allow-list and recorded as a
 * step. `refusal` is the escalation to return when the alert names a service that is not allowed.
 */
export async function resolveNamedService<C>(
  ctx: PlaybookContext<C>,
  labelKeys: readonly string[],
): Promise<{ label: string | undefined; named: { name: string; service: ServiceConfig } | null; refusal: Diagnosis<null> | null }> {
  const label = serviceLabel(ctx.input.labels, labelKeys);
  const named = allowedService(ctx.actions.config, label);
  await ctx.step("diagnose", "resolve_service", { label: label ?? null }, async () =>
    label === undefined
      ? { status: "ok", detail: "the alert names no service: the top consumer is the candidate" }
      : named
        ? { status: "ok", detail: `allow-listed service ${named.name}` }
        : { status: "skipped", detail: "not in actions.services: never touched" },
  );
  const refusal: Diagnosis<null> | null =
    label !== undefined && !named
      ? {
          verdict: "escalate",
          confirmed: null,
          summary: `service ${JSON.stringify(label.slice(0, 80))} is not in this host's allow-list (actions.services), so it is not restarted`,
          findings: { service_label: label },
          proposal: [],
          state: null,
        }
      : null;
  return { label, named, refusal };
}
