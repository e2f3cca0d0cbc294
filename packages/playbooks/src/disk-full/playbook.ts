import type { Playbook, PlaybookContext, PlaybookResult } from "../types.ts";
import { categories, type Category } from "./categories.ts";
import { cleanFolder, type CleanDeps, type Folder } from "./clean-folder.ts";
import { diskFullConfigSchema, type DiskFullConfig } from "./config.ts";
import { formatBytes, formatPercent } from "./format.ts";
import { matchesDiskFull } from "./match.ts";
import { resolveMountpoint, type Mountpoint } from "./mountpoint.ts";
import { applyIgnored, describeUnreadable, scanOpenFiles } from "./open-files.ts";
import { scopeDir } from "./scope.ts";
import { buildResult } from "./result.ts";
import { newTally } from "./tally.ts";
import { filesystemUsage } from "./usage.ts";

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

/** Build the playbook; `deps` lets a test substitute the open-file scan (the default reads /proc). */
export function createDiskFullPlaybook(deps: CleanDeps = { scanOpenFiles }): Playbook<DiskFullConfig> {
  return {
    name: "disk-full",
    version: "1.0.0",
    description:
      "Frees space on the alert's filesystem: removes old rotated logs and old temp files, gzips old backups, " +
      "only in configured folders, never symlinks or open files; escalates if usage stays above target.",
    risk: "low",
    idempotent: true,
    configSchema: diskFullConfigSchema,
    matches: matchesDiskFull,
    async run(ctx): Promise<PlaybookResult> {
      const mount = await recordMountpoint(ctx);
      const before = (await measure(ctx, "diagnose", mount)).data;
      const tally = newTally(ctx.config.max_files_per_run);
      const work = await scopeFolders(ctx, mount);

      // Without seeing every open file we could remove a log a process still writes: then act on nothing.
      if (work.length > 0) tally.incomplete = await checkOpenFiles(ctx, deps);

      for (const { cat, folder } of work) {
        if (tally.incomplete || tally.stopped || tally.budget <= 0) break;
        if (ctx.signal.aborted) {
          tally.stopped = true;
          break;
        }
        await cleanFolder(ctx, cat, folder, tally, deps);
      }

      // A cancelled run may not record more steps; its usage is whatever it was.
      const after = tally.stopped ? before : (await measure(ctx, "verify", mount)).data;
      return buildResult({
        mountpoint: mount.path,
        before,
        after,
        target: ctx.config.target_used_percent,
        dryRun: ctx.dryRun,
        foldersInScope: work.length,
        tally,
      });
    },
  };
}

/** The built-in `disk-full` playbook. */
export const diskFullPlaybook: Playbook<DiskFullConfig> = createDiskFullPlaybook();
