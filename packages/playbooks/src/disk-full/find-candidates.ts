import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import { errnoCode } from "./errno.ts";

export interface Candidate {
  path: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface SkippedPath {
  path: string;
  reason: string;
}

/** What a name filter says about a file: consider it, ignore it, or ignore it and say why in the audit. */
export type NameVerdict = true | false | { skip: string };

export interface FindOptions {
  /** A realpath'd folder; nothing outside it is ever returned. */
  root: string;
  /** The root's filesystem; sub-folders on another filesystem are not entered. */
  dev: number;
  accept: (basename: string) => NameVerdict;
  /** Only files whose mtime is before this (ms since epoch). */
  olderThanMs: number;
  signal: AbortSignal;
}

export interface FindResult {
  /** Oldest first, so a capped run removes the oldest files. */
  candidates: Candidate[];
  /** Notable paths not taken (symlinks, other filesystems, unreadable folders), at most MAX_RECORDED_SKIPS. */
  skipped: SkippedPath[];
  skippedCount: number;
  filesSeen: number;
}

export const MAX_RECORDED_SKIPS = 100;
// Deeper trees are almost surely a loop or junk; stop there rather than run out of stack or time.
const MAX_DEPTH = 64;

/**
 * Walk `root` without following a single symlink and return the regular files the filter accepts
 * that are older than the threshold. Errors on single entries are recorded, never thrown.
 */
export async function findCandidates(opts: FindOptions): Promise<FindResult> {
  const candidates: Candidate[] = [];
  const skipped: SkippedPath[] = [];
  let skippedCount = 0;
  let filesSeen = 0;
  const skip = (p: string, reason: string) => {
    skippedCount++;
    if (skipped.length < MAX_RECORDED_SKIPS) skipped.push({ path: p, reason });
  };

  const stack: Array<{ dir: string; depth: number }> = [{ dir: opts.root, depth: 0 }];
  while (stack.length > 0 && !opts.signal.aborted) {
    const { dir, depth } = stack.pop() as { dir: string; depth: number };
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") skip(dir, `folder cannot be read (${errnoCode(err)})`);
      continue;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      let st;
      try {
        // lstat, not the dirent type: some filesystems report DT_UNKNOWN, and a symlink must be seen as one.
        st = await lstat(full);
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") skip(full, `cannot be examined (${errnoCode(err)})`);
        continue;
      }
      if (st.isSymbolicLink()) {
        skip(full, "symbolic link (never followed)");
      } else if (st.isDirectory()) {
        if (st.dev !== opts.dev) skip(full, "folder on another filesystem (not entered)");
        else if (depth + 1 > MAX_DEPTH) skip(full, `deeper than ${MAX_DEPTH} levels (not entered)`);
        else stack.push({ dir: full, depth: depth + 1 });
      } else if (st.isFile()) {
        filesSeen++;
        const verdict = opts.accept(entry.name);
        if (verdict === false || st.mtimeMs >= opts.olderThanMs) continue;
        if (verdict !== true) skip(full, verdict.skip);
        // Removing one name of a hard-linked file frees nothing, and the other name may be anywhere.
        else if (st.nlink > 1) skip(full, `has ${st.nlink} hard links`);
        else candidates.push({ path: full, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  }
  candidates.sort((a, b) => a.mtimeMs - b.mtimeMs);
  return { candidates, skipped, skippedCount, filesSeen };
}
