import { lstat, realpath } from "node:fs/promises";
import path from "node:path";
import { errnoCode } from "./errno.ts";
import type { Candidate } from "./find-candidates.ts";
import { inodeKey } from "./open-files.ts";

export interface RecheckOptions {
  root: string;
  olderThanMs: number;
  /** `dev:ino` of open files, from a scan made just before this batch. */
  openInodes: Set<string>;
}

/** True when `p` is strictly below `root` (never `root` itself, never a sibling like `/var/log2`). */
export function isInside(root: string, p: string): boolean {
  return p.startsWith(root.endsWith(path.sep) ? root : root + path.sep) && p.length > root.length + 1;
}

/**
 * Look at a candidate again right before acting on it, since the walk may be minutes old:
 * returns why to leave it alone, or null when it is still the same old, closed, regular file.
 */
export async function recheck(c: Candidate, opts: RecheckOptions): Promise<string | null> {
  let st;
  try {
    st = await lstat(c.path);
  } catch (err) {
    return errnoCode(err) === "ENOENT" ? "no longer exists" : `cannot be examined (${errnoCode(err)})`;
  }
  if (st.isSymbolicLink()) return "became a symbolic link";
  if (!st.isFile()) return "is no longer a regular file";
  if (st.dev !== c.dev || st.ino !== c.ino) return "was replaced by another file since it was found";
  if (st.mtimeMs >= opts.olderThanMs) return "was modified recently";
  if (st.nlink > 1) return `has ${st.nlink} hard links`;
  let real;
  try {
    real = await realpath(c.path);
  } catch (err) {
    return `cannot be resolved (${errnoCode(err)})`;
  }
  // A folder on the way swapped for a symlink would make the same path name another file.
  if (real !== c.path || !isInside(opts.root, real)) return "now resolves outside its folder";
  if (opts.openInodes.has(inodeKey(st))) return "open by a running process";
  return null;
}
