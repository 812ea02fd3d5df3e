// In-memory series of OTLP-fed points, kept like the direct-observer source
// keeps scraped samples (RawSeries, ascending times, a retention window), so
// the same recipe arithmetic (recipes.ts) turns them into signals. Labels are
// the workload labels of observer series, taken from OTLP's Kubernetes
// resource attributes, plus the point's own attributes. Delta points (an OTLP
// delta Sum, or a gauge the Pixie manifest marks as delta) are added up on
// arrival into a counter; the first one's increase has no known start and
// therefore makes no rate on its own.
import { accepts } from "../filters.ts";
import { upperBound } from "../series-math.ts";
import type { Filters, RawSeries, Source, SourceStatus } from "../sources/source.ts";
import type { OtlpPoint } from "./decode.ts";

/** OTLP resource attribute → the gateway's label (the semantic conventions' k8s.* names). */
export const RESOURCE_LABELS: Record<string, string> = {
  "k8s.namespace.name": "namespace",
  "k8s.pod.name": "pod",
  "k8s.container.name": "container",
  "k8s.node.name": "node",
  "service.name": "service",
};

interface Stored extends RawSeries {
  accumulate: boolean;
}

export interface IngestResult {
  accepted: number;
  rejected: number;
  reasons: string[];
}

export interface OtlpStore extends Source {
  ingest(points: OtlpPoint[]): IngestResult;
  /** Series of the named metrics that match the filters, points in (fromMs, toMs]. */
  samples(metrics: string[], filters: Filters, fromMs: number, toMs: number): RawSeries[];
  labelValues(label: string, filters: Filters): string[];
  seriesCount(): number;
}

function labelsOf(p: OtlpPoint): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.attributes)) out[k] = v;
  for (const [attr, label] of Object.entries(RESOURCE_LABELS)) {
    const v = p.resource[attr];
    if (v) out[label] = v;
  }
  out.source = p.resource["instrumentation.provider"] || "otlp";
  return out;
}

const keyOf = (metric: string, labels: Record<string, string>) =>
  `${metric}\u0000${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ""}`)
    .join("\u0000")}`;

const matches = (labels: Record<string, string>, f: Filters) =>
  accepts(f.namespace, labels.namespace) &&
  accepts(f.pod, labels.pod) &&
  accepts(f.container, labels.container) &&
  accepts(f.node, labels.node) &&
  accepts(f.cgroup, labels.cgroup);

export function createOtlpStore(opts: {
  retentionMs: number;
  maxSeries: number;
  /** Gauges whose every point counts one export period (the Pixie manifest's delta metrics). */
  deltaGauges: ReadonlySet<string>;
  now?: () => number;
}): OtlpStore {
  const name = "otlp";
  const series = new Map<string, Stored>();
  const now = opts.now ?? Date.now;
  let lastIngest = 0;

  function trim(s: Stored, cutoff: number) {
    const n = upperBound(s.times, cutoff);
    if (n > 0) {
      s.times.splice(0, n);
      s.values.splice(0, n);
    }
  }

  return {
    name,
    status(): SourceStatus {
      return {
        name,
        state: "ready",
        message: `${series.size} series${lastIngest ? `, last push ${new Date(lastIngest).toISOString()}` : ", no push yet"}`,
      };
    },
    stop: () => Promise.resolve(),
    seriesCount: () => series.size,
    ingest(points) {
      const res: IngestResult = { accepted: 0, rejected: 0, reasons: [] };
      const reject = (why: string) => {
        res.rejected++;
        if (!res.reasons.includes(why)) res.reasons.push(why);
      };
      const cutoff = now() - opts.retentionMs;
      for (const p of points) {
        if (p.timeMs <= cutoff) {
          reject("points older than the retention window are not stored");
          continue;
        }
        const labels = labelsOf(p);
        const key = keyOf(p.metric, labels);
        let s = series.get(key);
        if (!s) {
          if (series.size >= opts.maxSeries) {
            reject(`series limit (KG_OTLP_MAX_SERIES=${opts.maxSeries}) reached`);
            continue;
          }
          const accumulate =
            p.kind === "delta" || (p.kind === "gauge" && opts.deltaGauges.has(p.metric));
          s = { metric: p.metric, labels, times: [], values: [], accumulate };
          series.set(key, s);
        }
        const last = s.times.length - 1;
        const lastT = s.times[last];
        if (s.accumulate) {
          if (lastT !== undefined && p.timeMs <= lastT) {
            reject("delta points must arrive in time order");
            continue;
          }
          s.times.push(p.timeMs);
          s.values.push((s.values[last] ?? 0) + p.value);
        } else if (lastT === undefined || p.timeMs > lastT) {
          s.times.push(p.timeMs);
          s.values.push(p.value);
        } else {
          // A late reading goes where it belongs; one at an existing time replaces it.
          const i = upperBound(s.times, p.timeMs);
          if (s.times[i - 1] === p.timeMs) s.values[i - 1] = p.value;
          else {
            s.times.splice(i, 0, p.timeMs);
            s.values.splice(i, 0, p.value);
          }
        }
        res.accepted++;
        trim(s, cutoff);
      }
      if (res.accepted) lastIngest = now();
      return res;
    },
    samples(metrics, filters, fromMs, toMs) {
      const want = new Set(metrics);
      const out: RawSeries[] = [];
      for (const s of series.values()) {
        if (!want.has(s.metric) || !matches(s.labels, filters)) continue;
        const i0 = upperBound(s.times, fromMs);
        const i1 = upperBound(s.times, toMs);
        if (i1 <= i0) continue;
        out.push({
          metric: s.metric,
          labels: s.labels,
          times: s.times.slice(i0, i1),
          values: s.values.slice(i0, i1),
        });
      }
      return out;
    },
    labelValues(label, filters) {
      const values = new Set<string>();
      for (const s of series.values()) {
        const v = s.labels[label];
        if (v && matches(s.labels, filters)) values.add(v);
      }
      return [...values];
    },
  };
}
