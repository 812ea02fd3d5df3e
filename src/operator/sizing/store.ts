// The operator's own history for right-sizing when no Prometheus is configured
// (ADR 0090): per container, a bounded list of interval samples made from the
// growth of the observers' cumulative counters between two scrapes. Bounded in
// both directions: samples older than the window are dropped, and when a
// container holds `capacity` samples, neighbours are merged pairwise (sums of
// counter growth stay exact; the time resolution halves). Containers not seen
// for a window are forgotten; at most `maxContainers` are kept (the least
// recently updated goes first). Pure: no I/O, the clock is passed in.
import type { Sample } from "./method.ts";

/** Cumulative counters of one container as one scrape read them. */
export interface Counters {
  usage: number;
  periods: number;
  throttled: number;
  throttledSeconds: number;
  runqueueSeconds: number;
  reclaimSeconds: number;
  memoryStallSeconds: number;
  oomKills: number;
  limitCores?: number;
}

interface Track {
  last: Counters;
  lastMs: number;
  samples: Sample[];
}

export interface Store {
  tracks: Map<string, Track>;
  windowMs: number;
  capacity: number;
  maxContainers: number;
}

export const containerKey = (namespace: string, pod: string, container: string) =>
  `${namespace}/${pod}/${container}`;

export function newStore(windowMs: number, capacity = 512, maxContainers = 5_000): Store {
  return { tracks: new Map(), windowMs, capacity, maxContainers };
}

const COUNTERS = [
  "usage",
  "periods",
  "throttled",
  "throttledSeconds",
  "runqueueSeconds",
  "reclaimSeconds",
  "memoryStallSeconds",
  "oomKills",
] as const;

export function merge(a: Sample, b: Sample): Sample {
  const m: Sample = { ...b, seconds: a.seconds + b.seconds };
  for (const k of COUNTERS) m[k] = a[k] + b[k];
  const ws = [a.workingSetBytes, b.workingSetBytes].filter((v) => v !== undefined);
  if (ws.length) m.workingSetBytes = Math.max(...ws);
  return m;
}

/** Halves the resolution: merges samples pairwise, oldest first. */
function halve(samples: Sample[]): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < samples.length; i += 2) {
    const a = samples[i];
    const b = samples[i + 1];
    if (a) out.push(b ? merge(a, b) : a);
  }
  return out;
}

/**
 * Records one scrape of a container. The first scrape only sets the baseline; a
 * counter that went down (the cgroup was recreated, the observer restarted)
 * starts a new baseline instead of a sample.
 */
export function observe(store: Store, key: string, c: Counters, nowMs: number): void {
  const t = store.tracks.get(key);
  if (!t) {
    if (store.tracks.size >= store.maxContainers) forgetOldest(store);
    store.tracks.set(key, { last: c, lastMs: nowMs, samples: [] });
    return;
  }
  const seconds = (nowMs - t.lastMs) / 1000;
  const reset = COUNTERS.some((k) => c[k] < t.last[k]);
  if (seconds > 0 && !reset) {
    const s: Sample = {
      endMs: nowMs,
      seconds,
      usage: c.usage - t.last.usage,
      periods: c.periods - t.last.periods,
      throttled: c.throttled - t.last.throttled,
      throttledSeconds: c.throttledSeconds - t.last.throttledSeconds,
      runqueueSeconds: c.runqueueSeconds - t.last.runqueueSeconds,
      reclaimSeconds: c.reclaimSeconds - t.last.reclaimSeconds,
      memoryStallSeconds: c.memoryStallSeconds - t.last.memoryStallSeconds,
      oomKills: c.oomKills - t.last.oomKills,
      ...(c.limitCores !== undefined ? { limitCores: c.limitCores } : {}),
    };
    t.samples.push(s);
  }
  t.last = c;
  t.lastMs = nowMs;
  const cutoff = nowMs - store.windowMs;
  while (t.samples[0] && t.samples[0].endMs <= cutoff) t.samples.shift();
  if (t.samples.length > store.capacity) t.samples = halve(t.samples);
}

/** Forgets containers not scraped for a whole window (their pods are gone). */
export function expire(store: Store, nowMs: number): void {
  for (const [k, t] of store.tracks) {
    if (nowMs - t.lastMs > store.windowMs) store.tracks.delete(k);
  }
}

function forgetOldest(store: Store): void {
  let oldest: [string, number] | undefined;
  for (const [k, t] of store.tracks) {
    if (!oldest || t.lastMs < oldest[1]) oldest = [k, t.lastMs];
  }
  if (oldest) store.tracks.delete(oldest[0]);
}

/** Samples of a container that end in (startMs, endMs]. */
export function samplesOf(store: Store, key: string, startMs: number, endMs: number): Sample[] {
  return (store.tracks.get(key)?.samples ?? []).filter(
    (s) => s.endMs > startMs && s.endMs <= endMs,
  );
}
