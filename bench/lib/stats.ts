/** Small statistics and formatting helpers for the benchmark tables. */

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile (p in 0..100) of the samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

export const median = (samples: readonly number[]): number => percentile(samples, 50);

export function max(samples: readonly number[]): number {
  return samples.length === 0 ? NaN : samples.reduce((a, b) => (b > a ? b : a), -Infinity);
}

/** A number for a table cell: "–" for NaN, else fixed digits. */
export function fmt(x: number, digits = 0): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

/** vipd/keepalived, or "–" when either side is missing or the denominator is 0. */
export function ratio(vipd: number, keepalived: number): string {
  if (!Number.isFinite(vipd) || !Number.isFinite(keepalived) || keepalived === 0) return '–';
  return (vipd / keepalived).toFixed(2);
}
