import { describeExit, outputTail } from "../actions/exec.ts";
import { formatBytes } from "../disk-full/format.ts";
import { confinedFile, PathNotAllowedError } from "../shared/confined-path.ts";
import { serviceLabel } from "../shared/service-evidence.ts";
import type { Diagnosis, Phase, Playbook, PlaybookContext } from "../types.ts";
import { LOG_FILE_LABELS, LOG_ROTATION_ALERTNAMES, logRotationConfigSchema, type LogRotationConfig } from "./config.ts";
import { inspectLog, lastRotatedByState, type LogInspection } from "./inspect.ts";

interface Problem {
  file: string;
  before: LogInspection;
  tooBig: boolean;
  stale: boolean;
  why: string;
}

interface State {
  problems: Problem[];
}

const HOUR_MS = 3_600_000;

/** The logs to check: the one a label names (only inside the configured roots/files), else the configured ones. */
async function resolveLogs(ctx: PlaybookContext<LogRotationConfig>): Promise<{ files: string[]; refused: string | null }> {
  const label = serviceLabel(ctx.input.labels, LOG_FILE_LABELS);
  let out: { files: string[]; refused: string | null } = { files: [], refused: null };
  await ctx.step("diagnose", "resolve_logs", { label: label ?? null }, async () => {
    if (label === undefined) {
      out = { files: ctx.config.files, refused: null };
      return { status: "ok", detail: `configured logs: ${ctx.config.files.join(", ") || "(none)"}` };
    }
    try {
      const { real } = await confinedFile(label, { roots: ctx.config.roots, files: ctx.config.files });
      out = { files: [real], refused: null };
      return { status: "ok", detail: real };
    } catch (err) {
      if (!(err instanceof PathNotAllowedError)) throw err;
      out = { files: [], refused: `log file label: ${err.message} (playbooks.log-rotation-broken.roots / files)` };
      return { status: "skipped", detail: `not used: ${err.message}` };
    }
  });
  return out;
}

/** One log: size, rotated siblings, logrotate state; is it too big, is its rotation stale? */
async function inspect(ctx: PlaybookContext<LogRotationConfig>, phase: Phase, file: string): Promise<{ log: LogInspection; lastRotated: string | null }> {
  let result: { log: LogInspection; lastRotated: string | null } | null = null;
  await ctx.step(phase, "inspect_log", { file }, async () => {
    const log = await inspectLog(file);
    const fromState = ctx.config.state_file ? await lastRotatedByState(ctx.config.state_file, [file]) : null;
    const lastRotated = fromState ?? log.rotated[0]?.mtime ?? null;
    result = { log, lastRotated };
    return {
      status: "ok",
      detail: `${log.exists ? formatBytes(log.sizeBytes) : "missing"}, ${log.rotated.length} rotated files, last rotated ${lastRotated ?? "never (no state, no rotated file)"}`,
      data: { ...log, last_rotated: lastRotated, last_rotated_from: fromState ? "state_file" : log.rotated[0] ? "rotated_file_mtime" : null },
    };
  });
  const r = result as { log: LogInspection; lastRotated: string | null } | null;
  if (!r) throw new Error("inspect_log step finished without a result");
  return r;
}

const stateArgs = (c: LogRotationConfig) => (c.state_file ? ["--state", c.state_file] : []);

/**
 * log-rotation-broken: find logs that grow past a size or have not been rotated for too long, check the
 * logrotate config (--debug) covers them and has no errors, then `logrotate --force <configured config>`
 * and verify the log was rotated. Alert labels only ever pick a log inside configured roots, for reading.
 */
export const logRotationBrokenPlaybook: Playbook<LogRotationConfig, State> = {
  name: "log-rotation-broken",
  version: "1.0.0",
  description: "Finds logs that are not being rotated, checks the logrotate config, forces it and verifies the log was rotated.",
  risk: "low",
  blastRadius: "files",
  idempotent: true,
  // Forcing the operator's own logrotate config does what cron does every day, after --debug showed it
  // has no errors and covers the log; the result is verified on disk.
  prior: { successes: 4, failures: 0 },
  runbook: "docs/runbooks/log-rotation-broken.md",
  configSchema: logRotationConfigSchema,
  match(labels) {
    if (labels.ccm_playbook === "log-rotation-broken") return { quality: 1, reason: "label ccm_playbook=log-rotation-broken" };
    if (LOG_ROTATION_ALERTNAMES.includes(labels.alertname ?? "")) return { quality: 0.9, reason: `alertname ${labels.alertname} is a log rotation alert` };
    return null;
  },
  async diagnose(ctx): Promise<Diagnosis<State>> {
    const cfg = ctx.config;
    const none: State = { problems: [] };
    const { files, refused } = await resolveLogs(ctx);
    if (refused) return { verdict: "escalate", confirmed: null, summary: refused, findings: {}, proposal: [], state: none };
    if (files.length === 0) return { verdict: "escalate", confirmed: null, summary: "no log files configured (playbooks.log-rotation-broken.files)", findings: {}, proposal: [], state: none };

    const maxBytes = cfg.max_size_mb * 1024 * 1024;
    const logs: Record<string, unknown>[] = [];
    const problems: Problem[] = [];
    for (const file of files) {
      const { log, lastRotated } = await inspect(ctx, "diagnose", file);
      const ageHours = lastRotated ? (Date.now() - Date.parse(lastRotated)) / HOUR_MS : null;
      const tooBig = log.sizeBytes >= maxBytes;
      const stale = log.sizeBytes > 0 && (ageHours === null || ageHours > cfg.max_age_hours);
      logs.push({ ...log, last_rotated: lastRotated, too_big: tooBig, stale });
      const why = [
        tooBig ? `${formatBytes(log.sizeBytes)} (max ${formatBytes(maxBytes)})` : null,
        stale ? (ageHours === null ? "never rotated" : `last rotated ${ageHours.toFixed(0)} h ago (max ${cfg.max_age_hours} h)`) : null,
      ].filter(Boolean).join(", ");
      if (tooBig || stale) problems.push({ file, before: log, tooBig, stale, why: `${file}: ${why}` });
    }
    const findings: Record<string, unknown> = { logs };
    if (problems.length === 0) {
      return { verdict: "no_action", confirmed: false, summary: `${files.length} logs below ${formatBytes(maxBytes)} and rotated within ${cfg.max_age_hours} h: nothing to do`, findings, proposal: [], state: none };
    }
    const what = problems.map((p) => p.why).join("; ");
    if (!cfg.config) return { verdict: "escalate", confirmed: true, summary: `${what}; no logrotate config configured (playbooks.log-rotation-broken.config)`, findings, proposal: [], state: none };

    // --debug reads the config and says what it would do, changing nothing: errors and coverage.
    const config = cfg.config;
    let check = { ok: false, covered: [] as string[], errors: [] as string[] };
    await ctx.step("diagnose", "logrotate_check", { config, state_file: cfg.state_file ?? null }, async () => {
      const r = await ctx.actions.run([cfg.logrotate, "--debug", ...stateArgs(cfg), "--", config], ctx.signal, { timeoutMs: cfg.timeout_ms });
      const out = `${r.stdoutTail}\n${r.stderrTail}`;
      const errors = out.split("\n").filter((l) => l.startsWith("error:")).slice(0, 20);
      const covered = problems.filter((p) => out.includes(`considering log ${p.file}\n`)).map((p) => p.file);
      check = { ok: r.exitCode === 0 && errors.length === 0, covered, errors };
      return { status: check.ok ? "ok" : "failed", detail: check.ok ? `no errors; covers ${covered.length}/${problems.length} logs` : `${describeExit(r)}, ${errors.length} errors`, exitCode: r.exitCode ?? undefined, outputTail: outputTail(r, 4_000) };
    });
    findings.logrotate_check = check;
    if (!check.ok) {
      return { verdict: "escalate", confirmed: true, summary: `${what}; logrotate --debug reports errors in ${config} (${check.errors[0] ?? "non-zero exit"}): forcing it would not help`, findings, proposal: [], state: none };
    }
    const uncovered = problems.filter((p) => !check.covered.includes(p.file)).map((p) => p.file);
    if (uncovered.length > 0) return { verdict: "escalate", confirmed: true, summary: `${what}; ${config} does not rotate ${uncovered.join(", ")}`, findings, proposal: [], state: none };
    return {
      verdict: "remediate",
      // A log over its size is a clear case; only "not rotated for a while" may be a weekly schedule.
      confirmed: problems.some((p) => p.tooBig) ? true : null,
      summary: what,
      findings,
      proposal: [{ action: "logrotate", target: config, detail: what }],
      state: { problems },
    };
  },
  async remediate(ctx) {
    const cfg = ctx.config;
    const config = cfg.config as string;
    const argv = [cfg.logrotate, "--force", ...stateArgs(cfg), "--", config];
    const r = await ctx.step("remediate", "logrotate", { argv }, async () => {
      if (ctx.dryRun) return { status: "dry_run" as const, detail: `would run ${argv.join(" ")}` };
      const res = await ctx.actions.run(argv, ctx.signal, { timeoutMs: cfg.timeout_ms });
      return { status: res.exitCode === 0 ? ("ok" as const) : ("failed" as const), detail: describeExit(res), exitCode: res.exitCode ?? undefined, outputTail: outputTail(res) };
    });
    return { summary: r.detail ?? "", details: { logrotate: r.status } };
  },
  async verify(ctx, d, r) {
    if (ctx.dryRun) return { ok: false, summary: `dry run: would force logrotate ${ctx.config.config} (${d.summary})` };
    const maxBytes = ctx.config.max_size_mb * 1024 * 1024;
    const results: string[] = [];
    const failed: string[] = [];
    const after: Record<string, unknown>[] = [];
    for (const p of d.state.problems) {
      const { log } = await inspect(ctx, "verify", p.file);
      after.push({ ...log });
      const rotated = !log.exists || log.inode !== p.before.inode || log.sizeBytes < p.before.sizeBytes;
      const line = `${p.file} ${formatBytes(p.before.sizeBytes)} -> ${log.exists ? formatBytes(log.sizeBytes) : "gone"}${log.rotated[0] ? `, newest rotated ${log.rotated[0].name}` : ""}`;
      if (rotated && log.sizeBytes < maxBytes) results.push(line);
      else failed.push(`${line}${rotated ? "" : " (not rotated)"}`);
    }
    const exit = r.details?.logrotate === "failed" ? " (logrotate exited non-zero)" : "";
    if (failed.length > 0) return { ok: false, summary: `forced logrotate ${ctx.config.config}${exit} but: ${failed.join("; ")}`, details: { after } };
    return { ok: true, summary: `rotated by logrotate ${ctx.config.config}${exit}: ${results.join("; ")}`, details: { after } };
  },
};
