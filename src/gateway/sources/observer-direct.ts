// Signals read from the observers themselves, for a local setup without
// Prometheus: the gateway scrapes each observer's /metrics on an interval,
// keeps a bounded in-memory history, and evaluates recipes over it (recipes.ts).
// A failed scrape leaves a gap in the history; nothing fills it.
import { evaluateRaw } from "../recipes.ts";
import { counterDelta } from "../series-math.ts";
import { matchesLabels } from "../filters.ts";
import { METRIC_PREFIX } from "../../shared/signals/catalogue.ts";
import { rateWindowMs } from "../signals.ts";
import type { ObserverTarget } from "../config.ts";
import { parseOpenMetrics } from "./openmetrics.ts";
import type {
  Filters,
  RangeRequest,
  RawSeries,
  Recipe,
  SignalSource,
  SourceStatus,
} from "./source.ts";

export interface DirectOptions {
  observers: ObserverTarget[];
  scrapeMs: number;
  retentionMs: number;
  /** Called with the source name when a scrape fails (for the gateway's metrics). */
  onError?: (source: string) => void;
}

interface TargetState {
  target: ObserverTarget;
  lastOk?: number;
  lastError?: string;
}

/** Metric families kept: the observer's signals, not its self-metrics. */
const KEEP = new RegExp(`^${METRIC_PREFIX}(cpu|runqueue|oom|memory|memcg|packet|tcp)_`);

export function createObserverDirectSource(opts: DirectOptions): SignalSource & {
  /** Scrapes every observer once now (tests use it instead of waiting a tick). */
  scrapeNow(): Promise<void>;
  seriesCount(): number;
} {
  const name = "observer-direct";
  const store = new Map<string, RawSeries>();
  const targets: TargetState[] = opts.observers.map((target) => ({ target }));
  let started = false;

  async function scrape(t: TargetState): Promise<void> {
    const now = Date.now();
    try {
      const res = await fetch(`${t.target.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const samples = parseOpenMetrics(await res.text());
      for (const s of samples) {
        if (!KEEP.test(s.name)) continue;
        const labels = { ...s.labels, node: t.target.node };
        const key = `${s.name}${JSON.stringify(labels)}`;
        let series = store.get(key);
        if (!series) store.set(key, (series = { metric: s.name, labels, times: [], values: [] }));
        series.times.push(now);
        series.values.push(s.value);
      }
      t.lastOk = now;
      t.lastError = undefined;
    } catch (err) {
      t.lastError = err instanceof Error ? err.message : String(err);
      opts.onError?.(name);
    }
  }

  function prune(): void {
    const cutoff = Date.now() - opts.retentionMs;
    for (const [key, s] of store) {
      let i = 0;
      while (i < s.times.length && (s.times[i] ?? 0) < cutoff) i++;
      if (i > 0) {
        s.times.splice(0, i);
        s.values.splice(0, i);
      }
      if (s.times.length === 0) store.delete(key);
    }
  }

  const scrapeAll = async () => {
    await Promise.all(targets.map(scrape));
    prune();
    started = true;
  };
  const timer = setInterval(() => void scrapeAll(), opts.scrapeMs);
  timer.unref();
  void scrapeAll();

  const selected = (metrics: string[] | undefined, f: Filters) =>
    [...store.values()].filter(
      (s) => (!metrics || metrics.includes(s.metric)) && matchesLabels(s.labels, f),
    );

  return {
    name,
    status(): SourceStatus {
      if (!targets.length) return { name, state: "disabled", message: "no KG_OBSERVER_URLS" };
      const failing = targets.filter((t) => t.lastError);
      if (!started) return { name, state: "starting" };
      if (failing.length) {
        return {
          name,
          state: "degraded",
          message: failing.map((t) => `${t.target.url}: ${t.lastError ?? ""}`).join("; "),
        };
      }
      return {
        name,
        state: "ready",
        message: `${targets.length} observer(s), ${store.size} series`,
      };
    },
    stop() {
      clearInterval(timer);
      return Promise.resolve();
    },
    scrapeNow: scrapeAll,
    seriesCount: () => store.size,
    evaluate(recipe: Recipe, f: Filters, range: RangeRequest) {
      const win = rateWindowMs(range.stepMs, opts.scrapeMs);
      return Promise.resolve(evaluateRaw(recipe, selected(undefined, f), range, win));
    },
    samples(metrics: string[], f: Filters, fromMs: number, toMs: number) {
      const out = selected(metrics, f).map((s) => {
        const keep = s.times
          .map((t, i) => [t, i] as const)
          .filter(([t]) => t > fromMs && t <= toMs);
        return {
          metric: s.metric,
          labels: s.labels,
          times: keep.map(([t]) => t),
          values: keep.map(([, i]) => s.values[i] ?? 0),
        };
      });
      return Promise.resolve(out.filter((s) => s.times.length > 0));
    },
    increases(metrics: string[], f: Filters, fromMs: number, toMs: number) {
      return Promise.resolve(
        selected(metrics, f).map((s) => ({
          metric: s.metric,
          labels: s.labels,
          increase: counterDelta(s, fromMs, toMs)?.delta,
        })),
      );
    },
    labelValues(label: string, f: Filters) {
      const values = new Set<string>();
      for (const s of selected(undefined, f)) {
        const v = s.labels[label];
        if (v) values.add(v);
      }
      return Promise.resolve([...values].sort());
    },
  };
}
