import { z } from "zod";
import { safeName } from "../actions/config.ts";
import { outputTail } from "../actions/exec.ts";
import { allowedService } from "../actions/services.ts";
import { PlaybookInputError, type Diagnosis, type Playbook } from "../types.ts";

export const serviceRestartParamsSchema = z.object({ service: safeName }).strict();
const configSchema = z.object({}).strict();

interface State {
  name: string;
}

/**
 * service-restart: restart one service named by a broadcast, only if it is in this host's
 * `actions.services` allow-list with `restart: true`; verify it is active afterwards. Matches no alert.
 */
export const serviceRestartPlaybook: Playbook<z.infer<typeof configSchema>, State> = {
  name: "service-restart",
  version: "1.0.0",
  description: "Restarts one allow-listed service on every targeted host and checks it is active again; for fleet broadcasts.",
  risk: "medium",
  blastRadius: "service",
  idempotent: true,
  runbook: "docs/broadcast.md",
  configSchema,
  params: serviceRestartParamsSchema,
  match: () => null,
  async diagnose(ctx): Promise<Diagnosis<State>> {
    const parsed = serviceRestartParamsSchema.safeParse(ctx.input.params ?? {});
    if (!parsed.success) throw new PlaybookInputError(`invalid params: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const found = allowedService(ctx.actions.config, parsed.data.service);
    if (!found) throw new PlaybookInputError(`service ${parsed.data.service} is not in this host's allow-list (actions.services)`);
    if (!found.service.restart) throw new PlaybookInputError(`service ${found.name} is allow-listed with restart: false on this host`);
    const before = await ctx.step("diagnose", "service_status", { service: found.name }, async () => {
      const s = await ctx.actions.services.status(found.name, ctx.signal);
      return { status: "ok" as const, detail: `${found.name} is ${s.state}`, exitCode: s.exec.exitCode ?? undefined, data: { state: s.state } };
    });
    return {
      verdict: "remediate",
      confirmed: true,
      summary: before.detail ?? found.name,
      findings: { service: found.name, before: before.data },
      proposal: [{ action: "restart_service", target: found.name }],
      state: { name: found.name },
    };
  },
  async remediate(ctx, d) {
    const name = d.state.name;
    if (ctx.dryRun) {
      await ctx.step("remediate", "restart_service", { service: name }, async () => ({ status: "dry_run", detail: `would restart ${name}` }));
      return { summary: `dry run: would restart ${name}`, details: { dry_run: true } };
    }
    const out = await ctx.step("remediate", "restart_service", { service: name }, async () => {
      const r = await ctx.actions.services.restart(name, ctx.signal);
      const tail = outputTail(r.exec);
      return {
        status: r.ok ? ("ok" as const) : ("failed" as const),
        detail: r.detail,
        exitCode: r.exec.exitCode ?? undefined,
        outputTail: tail,
        data: { exit_code: r.exec.exitCode, error_line: r.ok ? null : (tail.split("\n").map((l) => l.trim()).filter(Boolean).at(-1) ?? null) },
      };
    });
    return { summary: out.detail ?? "", details: out.data as Record<string, unknown> };
  },
  async verify(ctx, d, r) {
    if (ctx.dryRun || r.details?.dry_run) return { ok: true, summary: r.summary };
    const det = r.details as { exit_code: number | null; error_line: string | null };
    if (det.exit_code !== 0) return { ok: false, summary: `restart of ${d.state.name} failed (exit ${String(det.exit_code)})`, details: det };
    const after = await ctx.step("verify", "service_status", { service: d.state.name }, async () => {
      const s = await ctx.actions.services.status(d.state.name, ctx.signal);
      return { status: s.active ? ("ok" as const) : ("failed" as const), detail: `${d.state.name} is ${s.state}`, data: { active: s.active } };
    });
    const active = (after.data as { active: boolean }).active;
    return active
      ? { ok: true, summary: `${d.state.name} restarted and active`, details: { exit_code: 0 } }
      : { ok: false, summary: `${d.state.name} restarted but not active: ${after.detail ?? ""}`, details: { exit_code: 0, error_line: `${d.state.name} not active after restart` } };
  },
};
