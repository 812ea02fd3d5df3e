// truth-vs-metrics, the talk's "metrics lie" view in one frame: per workload,
// over the query's whole range, the averaged metric (CPU usage as % of the
// limit) beside what the kernel counted (throttled-period ratio, throttled
// time, run-queue delay). Computed from raw counter samples, not from rates,
// so every number is a difference of two kernel counter readings that exist;
// the span they cover is reported as windowStart/windowEnd.
import { field, frame, type Frame } from "../frames.ts";
import {
  counterDelta,
  groupKey,
  histogramQuantile,
  lastValue,
  pick,
  type Delta,
} from "../series-math.ts";
import { METRIC, WORKLOAD_LABELS } from "../../shared/signals/catalogue.ts";
import type { Filters, Increase, RawSeries, SignalSource } from "../sources/source.ts";
import { seriesName } from "./signal.ts";

/** Read as raw samples: the frame reports their readings and span. */
const CPU_METRICS = [
  METRIC.periods,
  METRIC.throttledPeriods,
  METRIC.throttledSeconds,
  METRIC.usageSeconds,
  METRIC.limitCores,
];
/** Read as increases only: ~30 bucket series per workload would dominate as raw samples. */
const RUNQUEUE_METRICS = [
  `${METRIC.runqueue}_bucket`,
  `${METRIC.runqueue}_sum`,
  `${METRIC.runqueue}_count`,
];

interface Row {
  labels: Record<string, string>;
  byMetric: Map<string, RawSeries[]>;
  increases: Increase[];
}

export interface TruthRow {
  workload: string;
  labels: Record<string, string>;
  periods?: Delta;
  throttled?: Delta;
  throttledSeconds?: Delta;
  usage?: Delta;
  limitCores?: number;
  runqueueP50?: number;
  runqueueP99?: number;
  runqueueMean?: number;
}

/** Sum of deltas of all series of a metric in a row (one per node, usually one). */
function delta(row: Row, metric: string, fromMs: number, toMs: number): Delta | undefined {
  let acc: Delta | undefined;
  for (const s of row.byMetric.get(metric) ?? []) {
    const d = counterDelta(s, fromMs, toMs);
    if (!d) continue;
    acc = acc
      ? {
          delta: acc.delta + d.delta,
          first: acc.first + d.first,
          last: acc.last + d.last,
          firstMs: Math.min(acc.firstMs, d.firstMs),
          lastMs: Math.max(acc.lastMs, d.lastMs),
        }
      : d;
  }
  return acc;
}

/** Sum of the increases of one metric in a row; undefined if any is unknown. */
function increaseOf(row: Row, metric: string): number | undefined {
  const mine = row.increases.filter((i) => i.metric === metric);
  if (!mine.length || mine.some((i) => i.increase === undefined)) return undefined;
  return mine.reduce((n, i) => n + (i.increase ?? 0), 0);
}

export function truthRows(
  series: RawSeries[],
  increases: Increase[],
  fromMs: number,
  toMs: number,
): TruthRow[] {
  const rows = new Map<string, Row>();
  const rowOf = (labels: Record<string, string>) => {
    const key = groupKey(labels, WORKLOAD_LABELS);
    let row = rows.get(key);
    if (!row) {
      row = { labels: pick(labels, WORKLOAD_LABELS), byMetric: new Map(), increases: [] };
      rows.set(key, row);
    }
    return row;
  };
  for (const s of series) {
    const row = rowOf(s.labels);
    const list = row.byMetric.get(s.metric) ?? [];
    list.push(s);
    row.byMetric.set(s.metric, list);
  }
  for (const i of increases) rows.get(groupKey(i.labels, WORKLOAD_LABELS))?.increases.push(i);
  const out: TruthRow[] = [];
  for (const row of rows.values()) {
    const periods = delta(row, METRIC.periods, fromMs, toMs);
    if (!periods && !row.byMetric.has(METRIC.usageSeconds)) continue; // not a CPU workload
    const limits = (row.byMetric.get(METRIC.limitCores) ?? [])
      .map((s) => lastValue(s, fromMs, toMs))
      .filter((v): v is number => v !== undefined);
    // Buckets summed per bound (one series per node); any unknown bucket means no quantile.
    const byLe = new Map<number, number | undefined>();
    for (const i of row.increases.filter((x) => x.metric === `${METRIC.runqueue}_bucket`)) {
      const le = i.labels.le === "+Inf" ? Infinity : Number(i.labels.le);
      if (Number.isNaN(le)) continue;
      const prev = byLe.has(le) ? byLe.get(le) : 0;
      byLe.set(le, prev === undefined || i.increase === undefined ? undefined : prev + i.increase);
    }
    const complete = [...byLe.values()].every((v) => v !== undefined);
    const buckets = complete ? [...byLe].map(([le, count]) => ({ le, count: count ?? 0 })) : [];
    const rqSum = increaseOf(row, `${METRIC.runqueue}_sum`);
    const rqCount = increaseOf(row, `${METRIC.runqueue}_count`);
    out.push({
      workload: seriesName(row.labels),
      labels: row.labels,
      periods,
      throttled: delta(row, METRIC.throttledPeriods, fromMs, toMs),
      throttledSeconds: delta(row, METRIC.throttledSeconds, fromMs, toMs),
      usage: delta(row, METRIC.usageSeconds, fromMs, toMs),
      limitCores: limits.length ? limits.reduce((a, b) => a + b, 0) : undefined,
      runqueueP50: histogramQuantile(0.5, buckets),
      runqueueP99: histogramQuantile(0.99, buckets),
      runqueueMean: rqSum !== undefined && rqCount ? rqSum / rqCount : undefined,
    });
  }
  return out.sort((a, b) => a.workload.localeCompare(b.workload));
}

const orNull = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);

export async function truthFrame(
  refId: string,
  source: SignalSource,
  filters: Filters,
  fromMs: number,
  toMs: number,
): Promise<Frame> {
  const [series, increases] = await Promise.all([
    source.samples(CPU_METRICS, filters, fromMs, toMs),
    source.increases(RUNQUEUE_METRICS, filters, fromMs, toMs),
  ]);
  const rows = truthRows(series, increases, fromMs, toMs);
  const col = (f: (r: TruthRow) => number | undefined) => rows.map((r) => orNull(f(r)));
  const usagePct = (r: TruthRow) => {
    const u = r.usage;
    if (!u || !r.limitCores || u.lastMs <= u.firstMs) return undefined;
    return (100 * u.delta) / ((u.lastMs - u.firstMs) / 1000) / r.limitCores;
  };
  const ratio = (r: TruthRow) =>
    r.periods?.delta && r.throttled ? r.throttled.delta / r.periods.delta : undefined;
  return frame(
    refId,
    [
      field(
        "workload",
        "string",
        rows.map((r) => r.workload),
      ),
      field(
        "node",
        "string",
        rows.map((r) => r.labels.node ?? null),
      ),
      field(
        "windowStart",
        "time",
        col((r) => r.periods?.firstMs ?? r.usage?.firstMs),
      ),
      field(
        "windowEnd",
        "time",
        col((r) => r.periods?.lastMs ?? r.usage?.lastMs),
      ),
      field("avgCpuPercentOfLimit", "number", col(usagePct), { unit: "percent" }),
      field(
        "cpuLimitCores",
        "number",
        col((r) => r.limitCores),
        { unit: "short" },
      ),
      field("throttledPeriodsRatio", "number", col(ratio), { unit: "percentunit" }),
      field(
        "throttledSeconds",
        "number",
        col((r) => r.throttledSeconds?.delta),
        { unit: "s" },
      ),
      field(
        "periods",
        "number",
        col((r) => r.periods?.delta),
        { unit: "short" },
      ),
      field(
        "throttledPeriods",
        "number",
        col((r) => r.throttled?.delta),
        { unit: "short" },
      ),
      field(
        "periodsAtStart",
        "number",
        col((r) => r.periods?.first),
        { unit: "short" },
      ),
      field(
        "periodsAtEnd",
        "number",
        col((r) => r.periods?.last),
        { unit: "short" },
      ),
      field(
        "runqueueDelayP50",
        "number",
        col((r) => r.runqueueP50),
        { unit: "s" },
      ),
      field(
        "runqueueDelayP99",
        "number",
        col((r) => r.runqueueP99),
        { unit: "s" },
      ),
      field(
        "runqueueDelayMean",
        "number",
        col((r) => r.runqueueMean),
        { unit: "s" },
      ),
    ],
    { name: "truth-vs-metrics", meta: { preferredVisualisationType: "table" } },
  );
}
