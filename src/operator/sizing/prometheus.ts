// Right-sizing history from Prometheus when KG_PROMETHEUS_URL is set (ADR
// 0090): range queries over the observers' cumulative kernel counters for one
// container, turned into the same interval samples the operator's own store
// holds (growth between consecutive points; a drop is a reset and starts
// over). The working set, which the observer does not export, is read from
// cAdvisor's container_memory_working_set_bytes when Prometheus has it. Label
// values are validated names, escaped into PromQL string literals.
import { METRIC } from "../../shared/signals/catalogue.ts";
import type { Sample } from "./method.ts";
import type { Counters } from "./store.ts";

const esc = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"');

/** Prometheus refuses more than 11 000 points per series. */
const MAX_POINTS = 10_000;

interface MatrixResult {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
}

const SERIES: [keyof Counters | "workingSet", string][] = [
  ["usage", METRIC.usageSeconds],
  ["periods", METRIC.periods],
  ["throttled", METRIC.throttledPeriods],
  ["throttledSeconds", METRIC.throttledSeconds],
  ["runqueueSeconds", `${METRIC.runqueue}_sum`],
  ["reclaimSeconds", METRIC.memcgReclaimSeconds],
  ["memoryStallSeconds", `${METRIC.memoryStall}{kind="some"}`],
  ["oomKills", METRIC.oomKills],
  ["limitCores", METRIC.limitCores],
  ["workingSet", "container_memory_working_set_bytes"],
];

/** The selector for one container (merged into a selector that may already have labels). */
function select(series: string, namespace: string, pod: string, container: string): string {
  const m = `namespace="${esc(namespace)}",pod="${esc(pod)}",container="${esc(container)}"`;
  return series.endsWith("}") ? `${series.slice(0, -1)},${m}}` : `${series}{${m}}`;
}

export function prometheusHistory(baseUrl: string, timeoutMs: number) {
  async function range(expr: string, startMs: number, endMs: number, stepS: number) {
    const url =
      `${baseUrl.replace(/\/$/, "")}/api/v1/query_range?query=${encodeURIComponent(expr)}` +
      `&start=${startMs / 1000}&end=${endMs / 1000}&step=${stepS}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as MatrixResult;
    if (body.status !== "success") throw new Error(`Prometheus: ${body.error ?? res.status}`);
    const points = new Map<number, number>();
    for (const r of body.data?.result ?? [])
      for (const [t, v] of r.values) points.set(Math.round(t * 1000), Number(v));
    return points;
  }

  /** Interval samples of a container between startMs and endMs, one per step. */
  async function samples(
    key: { namespace: string; pod: string; container: string },
    startMs: number,
    endMs: number,
    sampleMs: number,
  ): Promise<Sample[]> {
    const stepS = Math.max(sampleMs, (endMs - startMs) / MAX_POINTS) / 1000;
    const got = await Promise.all(
      SERIES.map(async ([field, series]) => {
        // max, not sum: the same container's series scraped twice (two observer
        // pods during a rollout, extra labels) must count once.
        const expr = `max(${select(series, key.namespace, key.pod, key.container)})`;
        return [field, await range(expr, startMs, endMs, stepS)] as const;
      }),
    );
    const by = new Map(got);
    const times = [...(by.get("usage") ?? new Map<number, number>()).keys()];
    times.sort((a, b) => a - b);
    const out: Sample[] = [];
    const at = (field: keyof Counters | "workingSet", t: number) => by.get(field)?.get(t);
    for (let i = 1; i < times.length; i++) {
      const [t0, t1] = [times[i - 1] ?? 0, times[i] ?? 0];
      // The observer creates some series at their first count (cpu.stat periods once the
      // cgroup has run, OOM kills at the first kill): absent while the container's usage
      // was already scraped means zero, as in the operator's own sampler.
      const scraped = at("usage", t0) !== undefined;
      const d = (field: keyof Counters) => {
        const b = at(field, t1);
        const a = at(field, t0) ?? (scraped ? 0 : undefined);
        return a === undefined || b === undefined ? 0 : b - a;
      };
      const fields = [
        "usage",
        "periods",
        "throttled",
        "throttledSeconds",
        "runqueueSeconds",
        "reclaimSeconds",
        "memoryStallSeconds",
        "oomKills",
      ] as const;
      // A counter that went down was reset (cgroup recreated, observer restarted).
      if (fields.some((f) => d(f) < 0)) continue;
      const limit = at("limitCores", t1);
      const ws = at("workingSet", t1);
      out.push({
        endMs: t1,
        seconds: (t1 - t0) / 1000,
        usage: d("usage"),
        periods: d("periods"),
        throttled: d("throttled"),
        throttledSeconds: d("throttledSeconds"),
        runqueueSeconds: d("runqueueSeconds"),
        reclaimSeconds: d("reclaimSeconds"),
        memoryStallSeconds: d("memoryStallSeconds"),
        oomKills: d("oomKills"),
        ...(limit !== undefined ? { limitCores: limit } : {}),
        ...(ws !== undefined ? { workingSetBytes: ws } : {}),
      });
    }
    return out;
  }

  return { samples };
}
