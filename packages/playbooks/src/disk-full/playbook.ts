import type { Diagnosis, Playbook, PlaybookContext } from "../types.ts";
import { categories, type Category } from "./categories.ts";
import { cleanFolder, type CleanDeps, type Folder } from "./clean-folder.ts";
import { diskFullConfigSchema, type DiskFullConfig } from "./config.ts";
import { formatBytes, formatPercent } from "./format.ts";
import { matchDiskFull } from "./match.ts";
import { resolveMountpoint, type Mountpoint } from "./mountpoint.ts";
import { applyIgnored, describeUnreadable, scanOpenFiles } from "./open-files.ts";
import { scopeDir } from "./scope.ts";
import { buildResult } from "./result.ts";
import { newTally, type Tally } from "./tally.ts";
import { filesystemUsage, type FilesystemUsage } from "./usage.ts";

async function measure(ctx: PlaybookContext<DiskFullConfig>, phase: "diagnose" | "verify", mount: Mountpoint) {
  return ctx.step(phase, "filesystem_usage", { mountpoint: mount.path }, async () => {
    const usage = await filesystemUsage(mount.path);
    return {
      status: "ok" as const,
      detail: `${formatPercent(usage.usedPercent)} used, ${formatBytes(usage.availBytes)} available`,
      data: usage,
    };
  });
}

/** Validate the alert's mountpoint inside a step, so a bad label (PlaybookInputError) is in the audit too. */
async function recordMountpoint(ctx: PlaybookContext<DiskFullConfig>): Promise<Mountpoint> {
  const found: { mount?: Mountpoint } = {};
  await ctx.step("diagnose", "resolve_mountpoint", { mountpoint: ctx.input.labels.mountpoint ?? null }, async () => {
    const m = await resolveMountpoint(ctx.input.labels);
    found.mount = m;
    return { status: "ok", detail: `${m.path} (device ${m.dev})` };
  });
  if (!found.mount) throw new Error("resolve_mountpoint step finished without a mountpoint");
  return found.mount;
}

/** Which configured folders lie on the full filesystem; each decision is a recorded step. */
async function scopeFolders(ctx: PlaybookContext<DiskFullConfig>, mount: Mountpoint) {
  const work: Array<{ cat: Category; folder: Folder }> = [];
  for (const cat of categories(ctx.config)) {
    for (const dir of cat.dirs) {
      await ctx.step("diagnose", "check_dir", { dir, kind: cat.kind, mountpoint: mount.path }, async () => {
        const s = await scopeDir(dir, mount);
        if (!s.ok) return { status: "skipped", detail: `not cleaned: ${s.reason}` };
        work.push({ cat, folder: { dir, root: s.root, dev: s.dev } });
        return { status: "ok", detail: `on ${mount.path}${s.root !== dir ? ` (resolves to ${s.root})` : ""}` };
      });
    }
  }
  return work;
}

/** Scan open files once before acting; returns why the scan is incomplete, or null. */
async function checkOpenFiles(ctx: PlaybookContext<DiskFullConfig>, deps: CleanDeps): Promise<string | null> {
  const scan: { incomplete: string | null } = { incomplete: null };
  await ctx.step("diagnose", "scan_open_files", {}, async () => {
    const o = applyIgnored(await deps.scanOpenFiles(), ctx.config.ignore_unreadable_processes);
    if (!o.complete) scan.incomplete = `cannot see the open files of ${describeUnreadable(o.unreadable)}`;
    return {
      status: o.complete ? "ok" : "failed",
      detail: scan.incomplete ? `incomplete: ${scan.incomplete}` : `${o.inodes.size} open files in ${o.processes} processes`,
      data: {
        processes: o.processes,
        open_files: o.inodes.size,
        unreadable: o.unreadable.slice(0, 20),
        ...(o.ignored?.length ? { ignored_unreadable: o.ignored.slice(0, 20) } : {}),
      },
    };
  });
  return scan.incomplete;
}

/** What diagnosis hands to remediation and verification of the same run. */
export interface DiskFullState {
  mount: Mountpoint;
  before: FilesystemUsage;
  work: Array<{ cat: Category; folder: Folder }>;
  /** Why diagnosis's open-file scan was incomplete (only a dry run gets past diagnosis with it). */
  openFilesIncomplete?: string | null;
  tally?: Tally;
}

/** Build the playbook; `deps` lets a test substitute the open-file scan (the default reads /proc). */
export function createDiskFullPlaybook(deps: CleanDeps = { scanOpenFiles }): Playbook<DiskFullConfig, DiskFullState> {
  return {
    name: "disk-full",
    version: "1.1.0",
    description:
      "Frees space on the alert's filesystem: removes old rotated logs and old temp files, gzips old backups, " +
      "only in configured folders, never symlinks or open files; escalates if usage stays above target.",
    risk: "low",
    blastRadius: "files",
    idempotent: true,
    // Its actions are confined to configured folders, named patterns, old files nobody holds open, each
    // rechecked before it acts (see the runbook), so it starts as if 9 verified fixes were behind it.
    prior: { successes: 9, failures: 0 },
    runbook: "docs/runbooks/disk-full.md",
    configSchema: diskFullConfigSchema,
    match: matchDiskFull,
    async diagnose(ctx): Promise<Diagnosis<DiskFullState>> {
      const mount = await recordMountpoint(ctx);
      const before = (await measure(ctx, "diagnose", mount)).data;
      const work = await scopeFolders(ctx, mount);
      const incomplete = work.length > 0 ? await checkOpenFiles(ctx, deps) : null;
      const target = ctx.config.target_used_percent;
      const usage = `usage ${formatPercent(before.usedPercent)} (target ${target}%)`;
      const findings = { mountpoint: mount.path, before, target_used_percent: target, folders_in_scope: work.map((w) => w.folder.dir) };
      const state: DiskFullState = { mount, before, work, openFilesIncomplete: incomplete };
      if (work.length === 0) {
        const above = before.usedPercent > target;
        return {
          verdict: above ? "escalate" : "no_action",
          confirmed: false,
          summary: `no configured folder is on ${mount.path}, nothing to clean; ${usage}`,
          findings,
          proposal: [],
          state,
        };
      }
      // Without seeing every open file a live run could remove a log a process still writes, so it acts on
      // nothing. A dry run removes nothing anyway: it goes on to list what a live run would remove.
      if (incomplete && !ctx.dryRun) {
        return {
          verdict: "escalate",
          confirmed: null,
          summary: `open-file check incomplete (${incomplete}), so nothing was removed on ${mount.path}; ${usage}`,
          findings: { ...findings, open_file_check_incomplete: incomplete },
          proposal: [],
          state,
        };
      }
      return {
        verdict: "remediate",
        confirmed: true,
        summary: `${mount.path}: ${usage}; ${work.length} configured folders on it`,
        findings,
        proposal: work.map((w) => ({ action: w.cat.action, target: w.folder.dir, detail: w.cat.reason })),
        state,
      };
    },
    async remediate(ctx, d) {
      const tally = newTally(ctx.config.max_files_per_run);
      tally.incomplete = d.state.openFilesIncomplete ?? null;
      d.state.tally = tally;
      for (const { cat, folder } of d.state.work) {
        if ((tally.incomplete && !ctx.dryRun) || tally.stopped || tally.budget <= 0) break;
        if (ctx.signal.aborted) {
          tally.stopped = true;
          break;
        }
        await cleanFolder(ctx, cat, folder, tally, deps);
      }
      return { summary: `${tally.filesRemoved} files removed, ${tally.filesCompressed} compressed` };
    },
    async verify(ctx, d) {
      const tally = d.state.tally ?? newTally(ctx.config.max_files_per_run);
      const after = tally.stopped ? d.state.before : (await measure(ctx, "verify", d.state.mount)).data;
      const r = buildResult({
        mountpoint: d.state.mount.path,
        before: d.state.before,
        after,
        target: ctx.config.target_used_percent,
        dryRun: ctx.dryRun,
        foldersInScope: d.state.work.length,
        tally,
      });
      return { ok: r.status === "succeeded", summary: r.summary, details: r.details };
    },
  };
}

/** The built-in `disk-full` playbook. */
export const diskFullPlaybook: Playbook<DiskFullConfig, DiskFullState> = createDiskFullPlaybook();
