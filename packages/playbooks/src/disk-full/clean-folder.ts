import type { PlaybookContext, StepOutcome } from "../types.ts";
import type { Category } from "./categories.ts";
import { compressFiles } from "./compress.ts";
import type { DiskFullConfig } from "./config.ts";
import { findCandidates, type Candidate, type SkippedPath } from "./find-candidates.ts";
import { formatBytes } from "./format.ts";
import { applyIgnored, describeUnreadable, type OpenFiles } from "./open-files.ts";
import { removeFiles } from "./remove.ts";
import type { Tally } from "./tally.ts";

/** Files per recorded step: keeps each audit row readable and bounds what one step can do. */
export const BATCH_SIZE = 100;

export interface Folder {
  /** As configured. */
  dir: string;
  /** Its realpath, which every acted-on path must be strictly inside. */
  root: string;
  dev: number;
}

export interface CleanDeps {
  scanOpenFiles: () => Promise<OpenFiles>;
}

const DAY_MS = 86_400_000;

/** How old an open-file scan may be when a batch is acted on. */
export const OPEN_FILES_MAX_AGE_MS = 500;

const lastScan = new WeakMap<Tally, { at: number; open: OpenFiles }>();

async function freshOpenFiles(tally: Tally, deps: CleanDeps): Promise<OpenFiles> {
  const cached = lastScan.get(tally);
  if (cached && Date.now() - cached.at < OPEN_FILES_MAX_AGE_MS) return cached.open;
  const open = await deps.scanOpenFiles();
  lastScan.set(tally, { at: Date.now(), open });
  return open;
}

function where(folder: Folder): Record<string, string> {
  return folder.root === folder.dir ? { dir: folder.dir } : { dir: folder.dir, resolved: folder.root };
}

/** Find the category's files in one folder and act on them in recorded batches, updating `tally`. */
export async function cleanFolder(
  ctx: PlaybookContext<DiskFullConfig>,
  cat: Category,
  folder: Folder,
  tally: Tally,
  deps: CleanDeps,
): Promise<void> {
  const olderThanMs = Date.now() - cat.minAgeDays * DAY_MS;
  let found: Candidate[] = [];
  await ctx.step(
    "remediate",
    "find_files",
    { ...where(folder), kind: cat.kind, reason: cat.reason, older_than: new Date(olderThanMs).toISOString() },
    async () => {
      const r = await findCandidates({ root: folder.root, dev: folder.dev, accept: cat.accept, olderThanMs, signal: ctx.signal });
      found = r.candidates;
      const bytes = found.reduce((n, c) => n + c.size, 0);
      return {
        status: "ok",
        detail: `${found.length} files (${formatBytes(bytes)}) match; ${r.skippedCount} notable paths skipped`,
        data: { candidates: found.length, bytes, files_seen: r.filesSeen, skipped: r.skipped, skipped_count: r.skippedCount },
      };
    },
  );

  if (ctx.signal.aborted) {
    tally.stopped = true;
    return;
  }
  const take = found.slice(0, tally.budget);
  tally.leftForNextRun += found.length - take.length;
  tally.budget -= take.length;

  for (let i = 0; i < take.length; i += BATCH_SIZE) {
    if (ctx.signal.aborted) {
      tally.stopped = true;
      return;
    }
    const batch = take.slice(i, i + BATCH_SIZE);
    await ctx.step(
      "remediate",
      cat.action,
      { ...where(folder), reason: cat.reason, files: batch.map((c) => ({ path: c.path, bytes: c.size })) },
      () => actOnBatch(ctx, cat, folder, batch, olderThanMs, tally, deps),
    );
    if (tally.incomplete || tally.stopped) return;
  }
}

async function actOnBatch(
  ctx: PlaybookContext<DiskFullConfig>,
  cat: Category,
  folder: Folder,
  batch: Candidate[],
  olderThanMs: number,
  tally: Tally,
  deps: CleanDeps,
): Promise<StepOutcome> {
  // Rescanned as the run goes (a process may have opened one of these since the walk), but at most
  // every OPEN_FILES_MAX_AGE_MS: one /proc scan costs ~100 ms and used to dominate big clean-ups
  // (bench disk-full-10k). Candidates are old rotated files, and each is lstat-ed again right before it goes.
  const open = applyIgnored(await freshOpenFiles(tally, deps), ctx.config.ignore_unreadable_processes);
  // A dry run changes nothing, so it still lists what it would do; the summary says a live run would refuse.
  if (!open.complete && ctx.dryRun) {
    tally.incomplete = `cannot see the open files of ${describeUnreadable(open.unreadable)}`;
  } else if (!open.complete) {
    tally.incomplete = `cannot see the open files of ${describeUnreadable(open.unreadable)}`;
    tally.filesSkipped += batch.length;
    const skipped: SkippedPath[] = batch.map((c) => ({ path: c.path, reason: "open-file check incomplete" }));
    return { status: "skipped", detail: `open-file check incomplete (${tally.incomplete}): nothing done`, data: { skipped } };
  }
  const opts = { root: folder.root, olderThanMs, openInodes: open.inodes, dryRun: ctx.dryRun, signal: ctx.signal };
  const status = ctx.dryRun ? "dry_run" : "ok";
  const verb = ctx.dryRun ? "would " : "";

  if (cat.action === "remove_files") {
    const r = await removeFiles(batch, opts);
    tally.freed[cat.kind] += r.bytes;
    tally.filesRemoved += r.removed.length;
    tally.filesSkipped += r.skipped.length;
    tally.stopped ||= r.stopped;
    const done = `${verb}${ctx.dryRun ? "remove" : "removed"} ${r.removed.length} files (${formatBytes(r.bytes)})`;
    return {
      status,
      detail: `${done}${r.skipped.length ? `, skipped ${r.skipped.length}` : ""}${r.stopped ? "; stopped: run cancelled" : ""}`,
      data: { [ctx.dryRun ? "would_remove" : "removed"]: r.removed, skipped: r.skipped },
    };
  }

  const r = await compressFiles(batch, opts);
  tally.filesCompressed += r.compressed.length;
  tally.filesSkipped += r.skipped.length;
  tally.stopped ||= r.stopped;
  if (ctx.dryRun) tally.bytesToCompress += r.bytesBefore;
  else tally.freed[cat.kind] += r.bytesBefore - r.bytesAfter;
  const sizes = ctx.dryRun
    ? formatBytes(r.bytesBefore)
    : `${formatBytes(r.bytesBefore)} -> ${formatBytes(r.bytesAfter)}`;
  const done = `${verb}${ctx.dryRun ? "compress" : "compressed"} ${r.compressed.length} files (${sizes})`;
  return {
    status,
    detail: `${done}${r.skipped.length ? `, skipped ${r.skipped.length}` : ""}${r.stopped ? "; stopped: run cancelled" : ""}`,
    data: { [ctx.dryRun ? "would_compress" : "compressed"]: r.compressed, skipped: r.skipped },
  };
}
