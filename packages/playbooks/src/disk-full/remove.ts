import { unlink } from "node:fs/promises";
import { errnoCode } from "./errno.ts";
import type { Candidate, SkippedPath } from "./find-candidates.ts";
import { recheck, type RecheckOptions } from "./recheck.ts";

export interface FileBytes {
  path: string;
  bytes: number;
}

export interface RemoveResult {
  /** Removed, or in a dry run the files that would have been. */
  removed: FileBytes[];
  skipped: SkippedPath[];
  bytes: number;
  /** The run was cancelled before every file was looked at. */
  stopped: boolean;
}

/** Remove each candidate that still passes `recheck`; in a dry run only say which would go. */
export async function removeFiles(
  files: readonly Candidate[],
  opts: RecheckOptions & { dryRun: boolean; signal: AbortSignal },
): Promise<RemoveResult> {
  const out: RemoveResult = { removed: [], skipped: [], bytes: 0, stopped: false };
  for (const [i, c] of files.entries()) {
    if (opts.signal.aborted) {
      out.stopped = true;
      for (const rest of files.slice(i)) out.skipped.push({ path: rest.path, reason: "not reached: run cancelled" });
      break;
    }
    const reason = await recheck(c, opts);
    if (reason) {
      out.skipped.push({ path: c.path, reason });
      continue;
    }
    if (!opts.dryRun) {
      try {
        await unlink(c.path);
      } catch (err) {
        out.skipped.push({ path: c.path, reason: `could not be removed (${errnoCode(err)})` });
        continue;
      }
    }
    out.removed.push({ path: c.path, bytes: c.size });
    out.bytes += c.size;
  }
  return out;
}
