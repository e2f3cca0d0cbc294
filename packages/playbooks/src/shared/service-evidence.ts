import { outputTail } from "../actions/exec.ts";
import { probeUntil } from "../actions/probe.ts";
import type { ServiceConfig } from "../actions/config.ts";
import type { Phase, PlaybookContext } from "../types.ts";

/** The first label among `keys` that names a service, as given (untrusted: only compared with the allow-list). */
export function serviceLabel(labels: Record<string, string>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = labels[k]?.trim();
    if (v) return v;
  }
  return undefined;
}

export interface ServiceHealth {
  active: boolean;
  state: string;
  probe: { ok: boolean; detail: string } | null;
}

/** Status (and probe, when configured) of an allow-listed service, each a recorded step. */
export async function checkHealth<C>(
  ctx: PlaybookContext<C>,
  phase: Phase,
  name: string,
  service: ServiceConfig,
  probeWithinMs = 0,
): Promise<ServiceHealth> {
  const health: ServiceHealth = { active: false, state: "unknown", probe: null };
  await ctx.step(phase, "service_status", { service: name, manager: ctx.actions.services.kind }, async () => {
    const s = await ctx.actions.services.status(name, ctx.signal);
    health.active = s.active;
    health.state = s.state;
    return { status: "ok", detail: `${name}: ${s.detail}`, exitCode: s.exec.exitCode ?? undefined, outputTail: outputTail(s.exec, 500), data: { active: s.active, state: s.state } };
  });
  const probe = service.probe;
  if (probe) {
    await ctx.step(phase, "probe", { service: name, ...("http" in probe ? { http: probe.http } : { tcp: `${probe.tcp.host}:${probe.tcp.port}` }) }, async () => {
      const r = await probeUntil(probe, probeWithinMs, ctx.signal);
      health.probe = { ok: r.ok, detail: r.detail };
      return { status: "ok", detail: `${r.ok ? "healthy" : "unhealthy"}: ${r.detail} (${r.attempts} attempts)`, data: { ok: r.ok, status: r.status ?? null } };
    });
  }
  return health;
}

export function healthy(h: ServiceHealth): boolean {
  return h.active && (h.probe === null || h.probe.ok);
}

/** The service's last log lines (journal or logs command, and its log_file), as evidence. */
export async function captureLogs<C>(ctx: PlaybookContext<C>, phase: Phase, name: string, service: ServiceConfig, lines: number): Promise<string> {
  let text = "";
  await ctx.step(phase, "service_logs", { service: name, lines }, async () => {
    const r = await ctx.actions.services.logs(name, lines, ctx.signal);
    text = r.exec.stdoutTail.trim();
    return { status: r.ok ? "ok" : "failed", detail: r.detail, exitCode: r.exec.exitCode ?? undefined, outputTail: text.slice(-4_000) };
  });
  if (service.log_file) {
    const file = service.log_file;
    await ctx.step(phase, "log_tail", { file, lines }, async () => {
      try {
        const tail = await ctx.actions.tailLog(file, lines);
        text += `${text ? "\n" : ""}--- ${file} ---\n${tail}`;
        return { status: "ok", detail: `${tail.split("\n").length} lines`, outputTail: tail.slice(-4_000) };
      } catch (err) {
        return { status: "failed", detail: (err as Error).message.slice(0, 300) };
      }
    });
  }
  return text.slice(-8_000);
}
