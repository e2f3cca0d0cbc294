import type { Kind } from "./categories.ts";

/** What a run did so far; the summary and result details are built from it. */
export interface Tally {
  /** Bytes freed (dry run: that would be freed) per kind; compression counts before minus after. */
  freed: Record<Kind, number>;
  filesRemoved: number;
  filesCompressed: number;
  filesSkipped: number;
  /** Dry run: bytes of backups that would be compressed (their saving is unknown without compressing). */
  bytesToCompress: number;
  /** Files that may still be acted on this run (max_files_per_run). */
  budget: number;
  /** Candidates left over because the budget ran out. */
  leftForNextRun: number;
  /** Why the open-file check was incomplete, once it was. */
  incomplete: string | null;
  /** The run was cancelled. */
  stopped: boolean;
}

export function newTally(budget: number): Tally {
  return {
    freed: { logs: 0, temp: 0, backups: 0 },
    filesRemoved: 0,
    filesCompressed: 0,
    filesSkipped: 0,
    bytesToCompress: 0,
    budget,
    leftForNextRun: 0,
    incomplete: null,
    stopped: false,
  };
}

export function freedTotal(t: Tally): number {
  return t.freed.logs + t.freed.temp + t.freed.backups;
}
