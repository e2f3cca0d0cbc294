import type pg from "pg";

/** What every benchmark gets from the runner. */
export interface BenchContext {
  /** The throw-away database of this run, already migrated. */
  databaseUrl: string;
  /** A small pool on it for setup and read-back (not part of anything measured). */
  pool: pg.Pool;
  /** Progress line on stdout. */
  progress(line: string): void;
  /** Register something to undo even when the run fails or is interrupted (child processes, servers). */
  onCleanup(fn: () => Promise<void> | void): () => void;
}

/** One line of the results table: CCM next to a baseline measured in the same run. */
export interface ResultRow {
  case: string;
  ccm: string;
  baseline: string;
  /** ccm / baseline of the figure named in ratioOf; null when there is nothing to compare. */
  ratio: number | null;
  ratioOf: string;
}

export interface BenchResult {
  name: string;
  measures: string;
  ranAt: string;
  durationS: number;
  rows: ResultRow[];
  warnings: string[];
  /** Raw figures for latest.json. */
  details: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  /** What is measured and against what, recorded with the results. */
  measures: string;
  run(ctx: BenchContext): Promise<Omit<BenchResult, "name" | "measures" | "ranAt" | "durationS">>;
}
