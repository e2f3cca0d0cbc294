import type { Kind } from "./categories.ts";
import { formatBytes, formatPercent } from "./format.ts";
import { freedTotal, type Tally } from "./tally.ts";

export interface SummaryInput {
  mountpoint: string;
  before: number;
  after: number;
  target: number;
  dryRun: boolean;
  /** Configured folders found on the alert's filesystem. */
  foldersInScope: number;
  tally: Tally;
}

const KINDS: Kind[] = ["logs", "temp", "backups"];

function byKind(t: Tally): string {
  const parts = KINDS.filter((k) => t.freed[k] > 0).map((k) => `${k} ${formatBytes(t.freed[k])}`);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** The one line a human reads: what was freed where, usage before and after, and whether it is enough. */
export function summarize(s: SummaryInput): string {
  const t = s.tally;
  const above = s.after > s.target;
  const freed = `${formatBytes(freedTotal(t))} on ${s.mountpoint}${byKind(t)}`;
  const usage = `usage ${formatPercent(s.before)} -> ${formatPercent(s.after)}`;
  let line: string;
  if (s.foldersInScope === 0) {
    line = `no configured folder is on ${s.mountpoint}, nothing to clean; ${usage}`;
  } else if (t.incomplete && s.dryRun) {
    line = `dry run: would free ${freed}, but the open-file check is incomplete (${t.incomplete}), so a live run would remove nothing; usage ${formatPercent(s.before)} now`;
  } else if (t.incomplete) {
    const done = freedTotal(t) > 0 ? `stopped after freeing ${freed}` : `nothing was removed on ${s.mountpoint}`;
    line = `open-file check incomplete (${t.incomplete}), so ${done}; ${usage}`;
  } else if (s.dryRun) {
    const compress = t.bytesToCompress > 0 ? ` and compress ${t.filesCompressed} backups of ${formatBytes(t.bytesToCompress)}` : "";
    line = `dry run: would free ${freed}${compress}; usage ${formatPercent(s.before)} now`;
  } else {
    line = `freed ${freed}; ${usage}`;
  }
  if (t.stopped) line = `stopped (run cancelled): ${line}`;
  if (t.leftForNextRun > 0) line += `; ${t.leftForNextRun} more files left by max_files_per_run`;
  if (t.incomplete || above) line += `${above ? `, still above ${s.target}%` : ""}: needs a human`;
  return line;
}
