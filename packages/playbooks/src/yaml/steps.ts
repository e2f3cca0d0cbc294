import { lstat, realpath } from "node:fs/promises";
import { describeExit, outputTail } from "../actions/exec.ts";
import { LogFileNotAllowedError } from "../actions/log-tail.ts";
import { probeUntil } from "../actions/probe.ts";
import { CommandNotAllowedError } from "../actions/host-actions.ts";
import { ServiceNotAllowedError } from "../actions/services.ts";
import { findCandidates } from "../disk-full/find-candidates.ts";
import { globMatcher } from "../disk-full/glob.ts";
import { scanOpenFiles, describeUnreadable } from "../disk-full/open-files.ts";
import { removeFiles } from "../disk-full/remove.ts";
import { PlaybookInputError, type Phase, type PlaybookContext, type ProposedAction, type StepOutcome } from "../types.ts";
import { paramRef, type YamlStep } from "./schema.ts";

export type Params = Record<string, string>;

/** The step with every "{{param}}" replaced by its (validated) value. */
export function bind(step: YamlStep, params: Params): YamlStep {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(step)) {
    const name = typeof v === "string" ? paramRef(v) : null;
    out[k] = name ? params[name] : v;
  }
  return out as YamlStep;
}

/** What a remediation step would change, for the approval. */
export function proposalOf(s: YamlStep): ProposedAction {
  const target =
    s.action === "restart_service" ? s.service
    : s.action === "command" ? s.name
    : s.action === "remove_files" ? `${s.dir}/${s.pattern}`
    : s.action === "logrotate" ? s.config
    : s.action === "journal_vacuum" ? (s.max_size ?? s.max_time ?? "journal")
    : s.action;
  return { action: s.action, target, ...(s.description ? { detail: s.description } : {}) };
}

export interface StepRun {
  outcome: StepOutcome;
  /** Whether the step's `expect` held; null when it has none. */
  holds: boolean | null;
}

const DAY_MS = 86_400_000;

async function act<C>(ctx: PlaybookContext<C>, s: YamlStep, phase: Phase): Promise<StepRun> {
  const a = ctx.actions;
  const dry = ctx.dryRun;
  switch (s.action) {
    case "service_status": {
      const st = await a.services.status(s.service, ctx.signal);
      return { outcome: { status: "ok", detail: `${s.service}: ${st.detail}`, data: { active: st.active } }, holds: s.expect ? st.active === s.expect.active : null };
    }
    case "restart_service": {
      if (dry) return { outcome: { status: "dry_run", detail: `would restart ${s.service}` }, holds: null };
      const r = await a.services.restart(s.service, ctx.signal);
      return { outcome: { status: r.ok ? "ok" : "failed", detail: r.detail, exitCode: r.exec.exitCode ?? undefined, outputTail: outputTail(r.exec) }, holds: null };
    }
    case "http_probe":
    case "tcp_probe": {
      const p = s.action === "http_probe" ? { http: s.url, expect_status: s.expect_status } : { tcp: { host: s.host, port: s.port } };
      const r = await probeUntil(p, s.within_ms, ctx.signal);
      return { outcome: { status: "ok", detail: `${r.ok ? "healthy" : "unhealthy"}: ${r.detail}`, data: { ok: r.ok } }, holds: s.expect ? r.ok === s.expect.ok : null };
    }
    case "log_tail": {
      const t = await a.tailLog(s.file, s.lines);
      return { outcome: { status: "ok", detail: `${t.split("\n").length} lines`, outputTail: t.slice(-4_000) }, holds: null };
    }
    case "command": {
      // Commands in diagnose/verify are allow-listed checks and run even in a dry run; in remediate they do not.
      if (dry && phase === "remediate") {
        return { outcome: { status: "dry_run", detail: `would run command ${s.name}` }, holds: null };
      }
      const r = await a.runAllowed(s.name, ctx.signal);
      const want = s.expect?.exit_code ?? 0;
      return { outcome: { status: r.exitCode === want ? "ok" : "failed", detail: describeExit(r), exitCode: r.exitCode ?? undefined, outputTail: outputTail(r) }, holds: s.expect ? r.exitCode === want : null };
    }
    case "remove_files": {
      const root = await realpath(s.dir);
      const open = await scanOpenFiles();
      if (!open.complete) return { outcome: { status: "skipped", detail: `open-file check incomplete (${describeUnreadable(open.unreadable)}): nothing removed` }, holds: null };
      const olderThanMs = Date.now() - s.older_than_days * DAY_MS;
      const dev = (await lstat(root)).dev;
      const match = globMatcher([s.pattern]);
      const found = await findCandidates({ root, dev, accept: match, olderThanMs, signal: ctx.signal });
      const r = await removeFiles(found.candidates.slice(0, 10_000), { root, olderThanMs, openInodes: open.inodes, dryRun: dry, signal: ctx.signal });
      return { outcome: { status: dry ? "dry_run" : "ok", detail: `${dry ? "would remove" : "removed"} ${r.removed.length} files (${r.bytes} bytes), skipped ${r.skipped.length}`, data: { removed: r.removed.slice(0, 200), skipped: r.skipped.slice(0, 100) } }, holds: null };
    }
    case "journal_vacuum": {
      const argv = ["journalctl", ...(s.max_size ? [`--vacuum-size=${s.max_size}`] : []), ...(s.max_time ? [`--vacuum-time=${s.max_time}`] : [])];
      if (dry) return { outcome: { status: "dry_run", detail: `would run ${argv.join(" ")}` }, holds: null };
      const r = await a.run(argv, ctx.signal);
      return { outcome: { status: r.exitCode === 0 ? "ok" : "failed", detail: describeExit(r), exitCode: r.exitCode ?? undefined, outputTail: outputTail(r) }, holds: null };
    }
    case "logrotate": {
      // --debug reads the config and says what it would do without doing it.
      const r = await a.run(["logrotate", dry ? "--debug" : "--force", "--", s.config], ctx.signal);
      return { outcome: { status: dry ? "dry_run" : r.exitCode === 0 ? "ok" : "failed", detail: describeExit(r), exitCode: r.exitCode ?? undefined, outputTail: outputTail(r) }, holds: null };
    }
  }
}

/** Run one bound step as a recorded action. Allow-list refusals become PlaybookInputError (escalate). */
export async function runStep<C>(ctx: PlaybookContext<C>, phase: Phase, s: YamlStep): Promise<StepRun> {
  let result: StepRun = { outcome: { status: "skipped" }, holds: null };
  const { action, ...args } = s;
  try {
    await ctx.step(phase, action, args, async () => {
      result = await act(ctx, s, phase);
      return result.outcome;
    });
  } catch (err) {
    if (err instanceof ServiceNotAllowedError || err instanceof CommandNotAllowedError || err instanceof LogFileNotAllowedError) {
      throw new PlaybookInputError(err.message);
    }
    throw err;
  }
  return result;
}
