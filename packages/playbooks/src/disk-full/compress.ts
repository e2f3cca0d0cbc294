import { constants, createReadStream, createWriteStream } from "node:fs";
import { link, lstat, open, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { errnoCode } from "./errno.ts";
import type { Candidate, SkippedPath } from "./find-candidates.ts";
import { recheck, type RecheckOptions } from "./recheck.ts";

/** Names that are already compressed; gzip would only burn CPU and grow them. */
export const COMPRESSED_EXTENSIONS = [".gz", ".xz", ".bz2", ".zst", ".zip", ".tgz", ".txz", ".tbz2", ".7z", ".lz4", ".lzma"];
/** Suffix of the half-written `.gz` of a compression in progress; never itself a backup. */
export const TMP_SUFFIX = ".ccm-tmp";

export function isCompressedName(name: string): boolean {
  const lower = name.toLowerCase();
  return COMPRESSED_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

export interface CompressedFile {
  path: string;
  gz_path: string;
  bytes_before: number;
  /** Unknown (null) in a dry run: we do not compress just to measure. */
  bytes_after: number | null;
}

export interface CompressResult {
  /** Compressed, or in a dry run the files that would be. */
  compressed: CompressedFile[];
  skipped: SkippedPath[];
  bytesBefore: number;
  bytesAfter: number;
  stopped: boolean;
}

type Outcome = { ok: true; file: CompressedFile } | { ok: false; reason: string };

type Options = RecheckOptions & { dryRun: boolean; signal: AbortSignal };

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    (err: unknown) => errnoCode(err) !== "ENOENT",
  );
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

class ChangedWhileCompressing extends Error {
  override readonly name = "ChangedWhileCompressing";
}

/** gzip `src` into a new `tmp` carrying the original's mode, owner and times. */
async function writeGzip(src: FileHandle, tmp: string, signal: AbortSignal): Promise<{ size: number; ino: number }> {
  const before = await src.stat();
  // O_EXCL|O_NOFOLLOW: we only ever write a file we just created, never through a planted link.
  const dst = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    // Streams over the raw fds: FileHandle streams would close or pin the handles we still need.
    await pipeline(
      createReadStream("", { fd: src.fd, autoClose: false, start: 0 }),
      createGzip(),
      createWriteStream("", { fd: dst.fd, autoClose: false }),
      { signal },
    );
    const after = await src.stat();
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw new ChangedWhileCompressing();
    await dst.chown(before.uid, before.gid).catch((err: unknown) => {
      // Not root (tests, dry installs): the copy stays ours, which is no wider than before.
      if (errnoCode(err) !== "EPERM") throw err;
    });
    // After chown, which clears setuid/setgid bits.
    await dst.chmod(before.mode & 0o7777);
    await dst.utimes(before.atime, before.mtime);
    await dst.sync();
    const written = await dst.stat();
    return { size: written.size, ino: written.ino };
  } finally {
    await dst.close();
  }
}

async function compressOne(c: Candidate, opts: Options): Promise<Outcome> {
  const gzPath = `${c.path}.gz`;
  const tmpPath = `${gzPath}${TMP_SUFFIX}`;
  const reason = await recheck(c, opts);
  if (reason) return { ok: false, reason };
  if (await exists(gzPath)) return { ok: false, reason: `${path.basename(gzPath)} already exists` };
  if (opts.dryRun) return { ok: true, file: { path: c.path, gz_path: gzPath, bytes_before: c.size, bytes_after: null } };

  // A leftover of an interrupted run has our reserved name; unlink never follows a link.
  await unlink(tmpPath).catch(() => undefined);
  let src: FileHandle | undefined;
  let wroteTmp = false;
  try {
    src = await open(c.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const st = await src.stat();
    if (!st.isFile() || st.dev !== c.dev || st.ino !== c.ino) return { ok: false, reason: "was replaced by another file" };
    wroteTmp = true;
    const { size, ino } = await writeGzip(src, tmpPath, opts.signal);
    if (size >= c.size) return { ok: false, reason: "gzip would not make it smaller" };
    // link fails if the .gz appeared meanwhile, where rename would silently replace it.
    await link(tmpPath, gzPath);
    await unlink(tmpPath);
    wroteTmp = false;
    await syncDir(path.dirname(c.path));
    const late = await recheck(c, opts);
    if (late) {
      // Only undo our own copy: the .gz is ours while it is still the inode we wrote.
      if ((await lstat(gzPath)).ino === ino) await unlink(gzPath);
      return { ok: false, reason: late };
    }
    await unlink(c.path);
    // Best effort: the .gz is already durable, and the original is gone either way.
    await syncDir(path.dirname(c.path)).catch(() => undefined);
    return { ok: true, file: { path: c.path, gz_path: gzPath, bytes_before: c.size, bytes_after: size } };
  } catch (err) {
    if (err instanceof ChangedWhileCompressing) return { ok: false, reason: "changed while being compressed" };
    if (opts.signal.aborted) return { ok: false, reason: "not finished: run cancelled" };
    const code = errnoCode(err);
    return { ok: false, reason: code === "ENOSPC" ? "no space left for the compressed copy" : `could not be compressed (${code})` };
  } finally {
    await src?.close();
    if (wroteTmp) await unlink(tmpPath).catch(() => undefined);
  }
}

/** gzip each candidate that still passes `recheck` to `<file>.gz`, then remove the original. */
export async function compressFiles(files: readonly Candidate[], opts: Options): Promise<CompressResult> {
  const out: CompressResult = { compressed: [], skipped: [], bytesBefore: 0, bytesAfter: 0, stopped: false };
  for (const [i, c] of files.entries()) {
    if (opts.signal.aborted) {
      out.stopped = true;
      for (const rest of files.slice(i)) out.skipped.push({ path: rest.path, reason: "not reached: run cancelled" });
      break;
    }
    const r = await compressOne(c, opts);
    if (!r.ok) {
      out.skipped.push({ path: c.path, reason: r.reason });
      continue;
    }
    out.compressed.push(r.file);
    out.bytesBefore += r.file.bytes_before;
    out.bytesAfter += r.file.bytes_after ?? r.file.bytes_before;
  }
  if (opts.signal.aborted) out.stopped = true;
  return out;
}
