// Evaluates a signal Recipe over raw samples held in memory (the direct-
// observer mode), step by step over a range, the way the Prometheus source's
// PromQL does: sums per workload group, rates over a look-back window, and no
// point at a step whose window lacks two samples.
import {
  counterDelta,
  groupKey,
  histogramQuantile,
  lastValue,
  perSecond,
  pick,
  type Bucket,
} from "./series-math.ts";
import { WORKLOAD_LABELS } from "../shared/signals/catalogue.ts";
import type { RangeRequest, RawSeries, Recipe, Series } from "./sources/source.ts";

interface Group {
  labels: Record<string, string>;
  members: RawSeries[];
}

function groupBy(series: RawSeries[], keep: readonly string[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const s of series) {
    const key = groupKey(s.labels, keep);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels: pick(s.labels, keep), members: [] }));
    g.members.push(s);
  }
  return groups;
}

function steps(range: RangeRequest): number[] {
  const out: number[] = [];
  for (let t = range.fromMs; t <= range.toMs; t += range.stepMs) out.push(t);
  return out;
}

/** Sums `f` over members; undefined if no member has a value at this step. */
function sumOf(members: RawSeries[], f: (s: RawSeries) => number | undefined) {
  let any = false;
  let total = 0;
  for (const m of members) {
    const v = f(m);
    if (v !== undefined && Number.isFinite(v)) {
      any = true;
      total += v;
    }
  }
  return any ? total : undefined;
}

function build(
  labels: Record<string, string>,
  range: RangeRequest,
  valueAt: (t: number) => number | undefined,
): Series {
  const s: Series = { labels, times: [], values: [] };
  for (const t of steps(range)) {
    const v = valueAt(t);
    if (v !== undefined && Number.isFinite(v)) {
      s.times.push(t);
      s.values.push(v);
    }
  }
  return s;
}

const byName = (series: RawSeries[], name: string) => series.filter((s) => s.metric === name);

export function evaluateRaw(
  recipe: Recipe,
  series: RawSeries[],
  range: RangeRequest,
  windowMs: number,
): Series[] {
  const win = (s: RawSeries, t: number) => counterDelta(s, t - windowMs, t);
  const out: Series[] = [];
  switch (recipe.kind) {
    case "rate":
    case "increase": {
      const keep = [...WORKLOAD_LABELS, ...recipe.by];
      for (const g of groupBy(byName(series, recipe.metric), keep).values()) {
        // "increase" is per step: the window's rate times the step, not the window's
        // increase. Windows are longer than the step (rateWindowMs), so window
        // increases overlap, and a panel summing them over the range ("OOM kills in
        // range") would count each event window/step times.
        const perStep = range.stepMs / 1000;
        const f =
          recipe.kind === "rate"
            ? (s: RawSeries, t: number) => perSecond(win(s, t))
            : (s: RawSeries, t: number) => {
                const r = perSecond(win(s, t));
                return r === undefined ? undefined : r * perStep;
              };
        out.push(build(g.labels, range, (t) => sumOf(g.members, (s) => f(s, t))));
      }
      break;
    }
    case "ratio": {
      const nums = groupBy(byName(series, recipe.num), WORKLOAD_LABELS);
      const dens = groupBy(byName(series, recipe.den), WORKLOAD_LABELS);
      for (const [key, n] of nums) {
        const d = dens.get(key);
        if (!d) continue;
        out.push(
          build(n.labels, range, (t) => {
            const num = sumOf(n.members, (s) => win(s, t)?.delta);
            const den = sumOf(d.members, (s) => win(s, t)?.delta);
            // No period elapsed: the ratio is undefined, which is a gap, not 0.
            return num !== undefined && den ? num / den : undefined;
          }),
        );
      }
      break;
    }
    case "usageOfLimit": {
      const usage = groupBy(byName(series, recipe.usage), WORKLOAD_LABELS);
      const limits = groupBy(byName(series, recipe.limit), WORKLOAD_LABELS);
      for (const [key, u] of usage) {
        const l = limits.get(key);
        if (!l) continue; // no CFS limit: "% of limit" does not exist
        out.push(
          build(u.labels, range, (t) => {
            const cores = sumOf(u.members, (s) => perSecond(win(s, t)));
            const limit = sumOf(l.members, (s) => lastValue(s, t - windowMs, t));
            return cores !== undefined && limit ? (100 * cores) / limit : undefined;
          }),
        );
      }
      break;
    }
    case "quantiles": {
      const buckets = byName(series, `${recipe.histogram}_bucket`);
      for (const g of groupBy(buckets, WORKLOAD_LABELS).values()) {
        for (const q of recipe.quantiles) {
          out.push(
            build({ ...g.labels, quantile: String(q) }, range, (t) => {
              const byLe = new Map<number, number>();
              for (const s of g.members) {
                const d = win(s, t);
                const le = Number(s.labels.le === "+Inf" ? Infinity : s.labels.le);
                if (d && !Number.isNaN(le)) byLe.set(le, (byLe.get(le) ?? 0) + d.delta);
              }
              const bs: Bucket[] = [...byLe].map(([le, count]) => ({ le, count }));
              return histogramQuantile(q, bs);
            }),
          );
        }
      }
      break;
    }
  }
  return out.filter((s) => s.times.length > 0);
}
