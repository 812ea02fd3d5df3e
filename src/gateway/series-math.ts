// Arithmetic over raw scraped samples, shared by the direct-observer source
// and truth-vs-metrics. It follows Prometheus' counter semantics (a decrease
// is a reset) but never extrapolates: a delta is last-minus-first over the
// samples that exist, and too few samples means no value, not zero.
import type { RawSeries } from "./sources/source.ts";

export interface Delta {
  /** Increase of the counter between the first and the last sample. */
  delta: number;
  firstMs: number;
  lastMs: number;
  first: number;
  last: number;
}

/** Index of the first sample with time > t (times ascending). */
export function upperBound(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((times[mid] ?? 0) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counter increase over the samples in (fromMs, toMs]; undefined with fewer than two. */
export function counterDelta(s: RawSeries, fromMs: number, toMs: number): Delta | undefined {
  const i0 = upperBound(s.times, fromMs);
  const i1 = upperBound(s.times, toMs) - 1;
  if (i1 - i0 < 1) return undefined;
  let delta = 0;
  for (let i = i0 + 1; i <= i1; i++) {
    const prev = s.values[i - 1] ?? 0;
    const cur = s.values[i] ?? 0;
    // A counter that went down was reset: everything since the reset is new.
    delta += cur >= prev ? cur - prev : cur;
  }
  return {
    delta,
    firstMs: s.times[i0] ?? 0,
    lastMs: s.times[i1] ?? 0,
    first: s.values[i0] ?? 0,
    last: s.values[i1] ?? 0,
  };
}

/** Last sample in (fromMs, toMs], for gauges. */
export function lastValue(s: RawSeries, fromMs: number, toMs: number): number | undefined {
  const i = upperBound(s.times, toMs) - 1;
  const t = s.times[i];
  return t !== undefined && t > fromMs ? s.values[i] : undefined;
}

/** Per-second rate from a delta; undefined when the samples span no time. */
export const perSecond = (d: Delta | undefined) =>
  d && d.lastMs > d.firstMs ? (d.delta * 1000) / (d.lastMs - d.firstMs) : undefined;

export interface Bucket {
  le: number;
  count: number;
}

/**
 * Prometheus' histogram_quantile: linear interpolation inside the bucket the
 * rank falls in; the +Inf bucket answers with the highest finite bound.
 * Undefined when the histogram is empty (no observations is not a delay of 0).
 */
export function histogramQuantile(q: number, buckets: Bucket[]): number | undefined {
  const b = [...buckets].sort((x, y) => x.le - y.le);
  const last = b[b.length - 1];
  if (!last || last.le !== Infinity || b.length < 2) return undefined;
  // Cumulative counts must not decrease; scrapes of a live histogram can race.
  for (let i = 1; i < b.length; i++) {
    const prev = b[i - 1];
    const cur = b[i];
    if (prev && cur && cur.count < prev.count) cur.count = prev.count;
  }
  const total = last.count;
  if (total <= 0) return undefined;
  const rank = q * total;
  let i = b.findIndex((x) => x.count >= rank);
  if (i < 0) i = b.length - 1;
  const bucket = b[i];
  if (!bucket) return undefined;
  if (bucket.le === Infinity) return b[b.length - 2]?.le;
  const lowerBound = i === 0 ? 0 : (b[i - 1]?.le ?? 0);
  const lowerCount = i === 0 ? 0 : (b[i - 1]?.count ?? 0);
  const inBucket = bucket.count - lowerCount;
  if (inBucket <= 0) return bucket.le;
  return lowerBound + (bucket.le - lowerBound) * ((rank - lowerCount) / inBucket);
}

/** Stable key of a label set restricted to `keep` (absent labels are skipped). */
export function groupKey(labels: Record<string, string>, keep: readonly string[]): string {
  return keep
    .filter((k) => labels[k] !== undefined && labels[k] !== "")
    .map((k) => `${k}=${labels[k] ?? ""}`)
    .join(",");
}

export function pick(labels: Record<string, string>, keep: readonly string[]) {
  const out: Record<string, string> = {};
  for (const k of keep) {
    const v = labels[k];
    if (v !== undefined && v !== "") out[k] = v;
  }
  return out;
}
