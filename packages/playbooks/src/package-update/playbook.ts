import { describeExit, outputTail, runCommand } from "../actions/exec.ts";
import { PlaybookInputError, type Diagnosis, type Playbook } from "../types.ts";
import { errorLine, installArgv, queryArgv, resolveManager, type Manager } from "./commands.ts";
import { packageUpdateConfigSchema, type PackageUpdateConfig } from "./config.ts";
import { packageUpdateParamsSchema, type PackageUpdateParams } from "./params.ts";

interface State {
  manager: Manager;
  params: PackageUpdateParams;
  installed: string | null;
}

/**
 * package-update: install or upgrade one package through apt or dnf (or a configured command), with a
 * strictly validated name and version passed as whole arguments. Broadcast only: it matches no alert.
 */
export const packageUpdatePlaybook: Playbook<PackageUpdateConfig, State> = {
  name: "package-update",
  version: "1.0.0",
  description: "Installs or upgrades one package (apt/dnf) with a validated name and version; for fleet broadcasts.",
  risk: "medium",
  blastRadius: "service",
  idempotent: true,
  runbook: "docs/broadcast.md",
  configSchema: packageUpdateConfigSchema as unknown as Playbook<PackageUpdateConfig, State>["configSchema"],
  params: packageUpdateParamsSchema,
  match: () => null,
  async diagnose(ctx): Promise<Diagnosis<State>> {
    const parsed = packageUpdateParamsSchema.safeParse(ctx.input.params ?? {});
    if (!parsed.success) throw new PlaybookInputError(`invalid params: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const params = parsed.data;
    const manager = await resolveManager(ctx.config);
    if (!manager) throw new PlaybookInputError("no package manager found (neither /usr/bin/apt-get nor /usr/bin/dnf); set playbooks.package-update.manager");
    let installed: string | null = null;
    const q = queryArgv(manager, params);
    if (q) {
      await ctx.step("diagnose", "installed_version", { argv: q }, async () => {
        const r = await runCommand(q, { timeoutMs: 30_000, outputCapBytes: 4_096, signal: ctx.signal });
        installed = r.exitCode === 0 && r.stdoutTail.trim() ? r.stdoutTail.trim() : null;
        return { status: "ok", detail: installed ? `installed: ${installed}` : "not installed", exitCode: r.exitCode ?? undefined };
      });
    }
    const want = params.version ?? "the newest available";
    const findings = { manager, package: params.name, installed, wanted: params.version ?? null };
    if (params.version && installed === params.version) {
      return { verdict: "no_action", confirmed: false, summary: `${params.name} ${installed} already installed`, findings, proposal: [], state: { manager, params, installed } };
    }
    return {
      verdict: "remediate",
      confirmed: true,
      summary: `${params.name}: ${installed ?? "not installed"} -> ${want}`,
      findings,
      proposal: [{ action: "install_package", target: params.name, detail: params.version ?? "latest" }],
      state: { manager, params, installed },
    };
  },
  async remediate(ctx, d) {
    const argv = installArgv(d.state.manager, ctx.config, d.state.params);
    if (ctx.dryRun) {
      await ctx.step("remediate", "install_package", { argv }, async () => ({ status: "dry_run", detail: `would run ${argv.join(" ")}` }));
      return { summary: `dry run: would run ${argv.join(" ")}`, details: { argv, dry_run: true } };
    }
    const outcome = await ctx.step("remediate", "install_package", { argv }, async () => {
      const r = await runCommand(argv, {
        timeoutMs: ctx.config.timeout_ms,
        outputCapBytes: ctx.actions.config.output_cap_bytes,
        signal: ctx.signal,
        env: { DEBIAN_FRONTEND: "noninteractive" },
      });
      const ok = r.exitCode === 0 && !r.timedOut;
      return {
        status: ok ? ("ok" as const) : ("failed" as const),
        detail: describeExit(r),
        exitCode: r.exitCode ?? undefined,
        outputTail: outputTail(r),
        data: { exit_code: r.exitCode, timed_out: r.timedOut, error_line: ok ? null : errorLine(r.stdoutTail, r.stderrTail) },
      };
    });
    const data = outcome.data as { exit_code: number | null; timed_out: boolean; error_line: string | null };
    return { summary: outcome.detail ?? "", details: { argv, ...data, output_tail: outcome.outputTail ?? "" } };
  },
  async verify(ctx, d, r) {
    const det = (r.details ?? {}) as { exit_code?: number | null; timed_out?: boolean; error_line?: string | null; dry_run?: boolean };
    const name = d.state.params.name;
    if (ctx.dryRun || det.dry_run) return { ok: true, summary: r.summary, details: { exit_code: null } };
    if (det.exit_code !== 0 || det.timed_out) {
      const why = det.timed_out ? "timed out" : `${det.error_line ?? "failed"} (exit ${String(det.exit_code)})`;
      return { ok: false, summary: `${name}: ${why}`, details: { exit_code: det.exit_code ?? null, error_line: det.timed_out ? "timed out" : (det.error_line ?? null) } };
    }
    return { ok: true, summary: `${name} ${d.state.params.version ?? "upgraded to the newest available"} installed`, details: { exit_code: 0 } };
  },
};
