import type { PlaybookResult } from "../types.ts";
import { summarize } from "./summary.ts";
import { freedTotal, type Tally } from "./tally.ts";
import type { FilesystemUsage } from "./usage.ts";

export interface ResultInput {
  mountpoint: string;
  before: FilesystemUsage;
  after: FilesystemUsage;
  target: number;
  dryRun: boolean;
  foldersInScope: number;
  tally: Tally;
}

/**
 * Succeeded only when usage is at or below target; escalated when it is not or when the open-file
 * check was incomplete; failed when the run was cancelled part-way.
 */
export function buildResult(r: ResultInput): PlaybookResult {
  const t = r.tally;
  const status = t.stopped ? "failed" : t.incomplete || r.after.usedPercent > r.target ? "escalated" : "succeeded";
  const summary = summarize({ ...r, before: r.before.usedPercent, after: r.after.usedPercent });
  const dry = r.dryRun;
  return {
    status,
    summary,
    details: {
      mountpoint: r.mountpoint,
      before: r.before,
      after: r.after,
      target_used_percent: r.target,
      dry_run: dry,
      freed_bytes: dry ? 0 : freedTotal(t),
      freed_by_kind: dry ? { logs: 0, temp: 0, backups: 0 } : t.freed,
      files_removed: dry ? 0 : t.filesRemoved,
      files_compressed: dry ? 0 : t.filesCompressed,
      files_skipped: t.filesSkipped,
      ...(dry && {
        would_free_bytes: freedTotal(t),
        would_remove: t.filesRemoved,
        would_compress: t.filesCompressed,
        would_compress_bytes: t.bytesToCompress,
      }),
      files_left_for_next_run: t.leftForNextRun,
      open_file_check_incomplete: t.incomplete,
      cancelled: t.stopped,
    },
  };
}
