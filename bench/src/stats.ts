/** Distribution of a set of samples (nearest-rank percentiles). */
export interface Summary {
  n: number;
  min: number;
  p50: number;
  median: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50,
    median: p50,
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : Number.NaN,
  };
}

/** Rounded for humans: 3 significant digits below 1000, integers above. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  return Number(v.toPrecision(3)).toString();
}

export function ratio(a: number, b: number): number | null {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : null;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wall-clock milliseconds with sub-millisecond resolution, aligned on a Date.now() tick. */
export function preciseWallClock(): () => number {
  const start = Date.now();
  let wall = start;
  let mono = 0;
  // Spin to the next millisecond edge so the offset is exact to the microsecond (≤ 1 ms of spinning).
  while (wall === start) {
    wall = Date.now();
    mono = performance.now();
  }
  const offset = wall - mono;
  return () => offset + performance.now();
}
