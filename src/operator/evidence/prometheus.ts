// Kernel evidence from Prometheus (ADR 0076), when KG_PROMETHEUS_URL is set:
// instant queries over the observer's own series (kernel_gossip_*, labels
// namespace/pod/container or cgroup, and node from the scrape config) for the
// query's subject and window. Label values from alerts are validated names or
// paths and are escaped into PromQL string literals; the URL is configuration,
// never taken from a webhook.
import type { Evidence, Quantity } from "../../shared/model/common.ts";
import { METRIC } from "../../shared/signals/catalogue.ts";
import type { EvidenceQuery } from "./query.ts";

const esc = (v: string) => v.replaceAll("\\", "\\\\").replaceAll('"', '\\"');

export function matchers(q: EvidenceQuery, extra: Record<string, string> = {}): string {
  const s = q.subject;
  const m: Record<string, string> = s.pod
    ? {
        namespace: s.namespace ?? "",
        pod: s.pod,
        ...(s.container ? { container: s.container } : {}),
      }
    : { cgroup: s.cgroupPath ?? "/", ...(s.node ? { node: s.node } : {}) };
  return Object.entries({ ...m, ...extra })
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(",");
}

interface VectorResult {
  status: string;
  error?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value: [number, string] }[];
  };
}

export function prometheusSource(baseUrl: string, timeoutMs: number) {
  /** One instant query at `timeMs`; the vector's samples (empty when no series matched). */
  async function query(expr: string, timeMs: number) {
    const url = `${baseUrl.replace(/\/$/, "")}/api/v1/query?query=${encodeURIComponent(expr)}&time=${timeMs / 1000}`;
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as VectorResult;
    if (body.status !== "success") throw new Error(`Prometheus: ${body.error ?? res.status}`);
    return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }
  const scalar = async (expr: string, timeMs: number) => {
    const [first] = await query(expr, timeMs);
    return first && Number.isFinite(first.value) ? first.value : undefined;
  };

  /** The evidence Prometheus holds for the query: found, zero (series but nothing), or absent. */
  async function evidence(
    q: EvidenceQuery,
  ): Promise<{ kernelTruth: Evidence; total: number } | undefined> {
    const w = `${Math.max(1, Math.round((q.endMs - q.startMs) / 1000))}s`;
    const at = q.endMs;
    // What a counter grew by in the window, from its own samples (no extrapolation as in
    // increase()). Series that exist from the start (a cgroup's CPU and PSI counters) grow
    // by their highest minus their lowest sample; series the observer creates at their
    // first event (OOM kills, drops, reclaims) also count their first value when born
    // inside the window.
    const grown = (sel: string) => `sum(max_over_time(${sel}[${w}]) - min_over_time(${sel}[${w}]))`;
    const born = (sel: string) =>
      `sum(max_over_time(${sel}[${w}])) - (sum(${sel} offset ${w}) or vector(0))`;
    const inc = (metric: string, extra: Record<string, string> = {}) =>
      grown(`${metric}{${matchers(q, extra)}}`);
    const counted = (metric: string, extra: Record<string, string> = {}) =>
      born(`${metric}{${matchers(q, extra)}}`);
    const window = { start: new Date(q.startMs).toISOString(), end: new Date(at).toISOString() };
    const out = (quantities: Quantity[], exprs: string, attributes?: Record<string, string>) => ({
      kernelTruth: {
        window,
        quantities,
        ...(attributes ? { attributes } : {}),
        origin: `Prometheus ${baseUrl}: ${exprs}`.slice(0, 512),
      },
      total: quantities[0]?.value ?? 0,
    });
    switch (q.signal) {
      case "cpu-throttling": {
        const e = inc(METRIC.throttledPeriods);
        const [throttled, periods, secs, limit] = await Promise.all([
          scalar(e, at),
          scalar(inc(METRIC.periods), at),
          scalar(inc(METRIC.throttledSeconds), at),
          scalar(`max(${METRIC.limitCores}{${matchers(q)}})`, at),
        ]);
        if (throttled === undefined || periods === undefined) return undefined;
        const quantities: Quantity[] = [
          {
            name: "throttledPeriodsRatio",
            value: periods > 0 ? Math.min(1, throttled / periods) : 0,
            unit: "ratio",
          },
          { name: "throttledPeriods", value: Math.round(throttled), unit: "count" },
          { name: "periods", value: Math.round(periods), unit: "count" },
        ];
        if (secs !== undefined)
          quantities.push({ name: "throttledSeconds", value: Math.max(0, secs), unit: "seconds" });
        if (limit !== undefined)
          quantities.push({ name: "cpuLimitCores", value: limit, unit: "cores" });
        const r = out(quantities, `${e} / periods`);
        return { ...r, total: throttled };
      }
      case "oom-kill": {
        const e = counted(METRIC.oomKills);
        const kills = await scalar(e, at);
        if (kills === undefined) return undefined;
        return out([{ name: "oomKills", value: Math.max(0, Math.round(kills)), unit: "count" }], e);
      }
      case "memory-pressure": {
        const e = inc(METRIC.memoryStall, { kind: "some" });
        const node = !q.subject.pod && q.subject.cgroupPath === "/" ? q.subject.node : undefined;
        const reclaimSel = `${METRIC.memcgReclaimSeconds}{${node ? `node="${esc(node)}"` : matchers(q)}}`;
        const stallSel = `${METRIC.memoryStall}{node="${esc(node ?? "")}",kind="some",cgroup!="/"}`;
        const [some, full, reclaim, top] = await Promise.all([
          scalar(e, at),
          scalar(inc(METRIC.memoryStall, { kind: "full" }), at),
          scalar(born(reclaimSel), at),
          node
            ? query(
                // The cgroup (below the root) that stalled most: growth per series, highest first.
                `topk(1, max_over_time(${stallSel}[${w}]) - min_over_time(${stallSel}[${w}]))`,
                at,
              )
            : Promise.resolve([]),
        ]);
        if (some === undefined) return undefined;
        const quantities: Quantity[] = [
          { name: "stallSeconds", value: Math.max(0, some), unit: "seconds" },
        ];
        if (full !== undefined)
          quantities.push({ name: "fullStallSeconds", value: Math.max(0, full), unit: "seconds" });
        if (reclaim !== undefined)
          quantities.push({ name: "reclaimSeconds", value: Math.max(0, reclaim), unit: "seconds" });
        const worst = top[0];
        const attributes =
          worst && worst.value > 0 && worst.metric.cgroup
            ? { mostStalledCgroup: worst.metric.cgroup.slice(0, 1024) }
            : undefined;
        return out(quantities, e, attributes);
      }
      case "runqueue-delay": {
        const e = `histogram_quantile(0.99, sum by (le) (rate(${METRIC.runqueue}_bucket{${matchers(q)}}[${w}])))`;
        const p99 = await scalar(e, at);
        if (p99 === undefined) return undefined;
        return out([{ name: "runqueueDelayP99Seconds", value: p99, unit: "seconds" }], e);
      }
      case "packet-drops": {
        const e = counted(METRIC.packetDrops, q.reason ? { reason: q.reason } : {});
        const drops = await scalar(e, at);
        if (drops === undefined) return undefined;
        return out(
          [{ name: "drops", value: Math.max(0, Math.round(drops)), unit: "packets" }],
          e,
          q.reason ? { reason: q.reason } : undefined,
        );
      }
      case "tcp-retransmits":
      case "tcp-resets": {
        const name = q.signal === "tcp-resets" ? "resets" : "retransmits";
        const e = counted(METRIC[name]);
        const n = await scalar(e, at);
        if (n === undefined) return undefined;
        return out([{ name, value: Math.max(0, Math.round(n)), unit: "count" }], e);
      }
    }
  }
  return { url: baseUrl, evidence };
}

export type PrometheusSource = ReturnType<typeof prometheusSource>;
