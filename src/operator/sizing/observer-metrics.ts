// The operator's own sampler for right-sizing without Prometheus (ADR 0090):
// every sample interval it reads each observer's /metrics (the same cumulative
// kernel counters Prometheus would scrape: cpu.stat, cpuacct usage, run-queue
// delay, memcg reclaim, PSI, OOM kills) and records their growth per container
// in the bounded store. Observer addresses come from configuration or the
// API server's EndpointSlices, never from a webhook.
import { METRIC, METRIC_PREFIX } from "../../shared/signals/catalogue.ts";
import type { Log } from "../log.ts";
import { containerKey, expire, observe, type Counters, type Store } from "./store.ts";

/** Series the sampler reads, by name as the observer exports them (OpenMetrics). */
const FAMILIES: Record<string, keyof Counters> = {
  [METRIC.usageSeconds]: "usage",
  [METRIC.periods]: "periods",
  [METRIC.throttledPeriods]: "throttled",
  [METRIC.throttledSeconds]: "throttledSeconds",
  [`${METRIC.runqueue}_sum`]: "runqueueSeconds",
  [METRIC.memcgReclaimSeconds]: "reclaimSeconds",
  [METRIC.memoryStall]: "memoryStallSeconds",
  [METRIC.oomKills]: "oomKills",
  [METRIC.limitCores]: "limitCores",
};

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Cumulative counters per container key from one /metrics text. */
export function parseMetrics(text: string): Map<string, Counters> {
  const out = new Map<string, Counters>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(METRIC_PREFIX)) continue;
    const m = LINE.exec(line);
    const field = m?.[1] ? FAMILIES[m[1]] : undefined;
    if (!m || !field) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1] ?? ""] = l[2] ?? "";
    const { namespace = "", pod, container } = labels;
    // Memory pressure counts "some" stall; series without a pod are not containers (an
    // observer without API access names pods by UID, with an empty namespace).
    if (!pod || !container) continue;
    if (field === "memoryStallSeconds" && labels.kind !== "some") continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const key = containerKey(namespace, pod, container);
    const c = out.get(key) ?? {
      usage: 0,
      periods: 0,
      throttled: 0,
      throttledSeconds: 0,
      runqueueSeconds: 0,
      reclaimSeconds: 0,
      memoryStallSeconds: 0,
      oomKills: 0,
    };
    c[field] = (c[field] ?? 0) + value;
    out.set(key, c);
  }
  return out;
}

export interface SamplerDeps {
  store: Store;
  observers: () => string[];
  intervalMs: number;
  timeoutMs: number;
  log: Log;
  onSample?: () => void;
}

export function observerSampler(deps: SamplerDeps) {
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function once(): Promise<void> {
    const urls = deps.observers();
    const read = await Promise.allSettled(
      urls.map(async (url) => {
        const res = await fetch(`${url.replace(/\/$/, "")}/metrics`, {
          signal: AbortSignal.timeout(deps.timeoutMs),
        });
        if (!res.ok) throw new Error(`${url}/metrics: HTTP ${res.status}`);
        return parseMetrics(await res.text());
      }),
    );
    const now = Date.now();
    // One pod runs on one node: a container's series come from one observer.
    const all = new Map<string, Counters>();
    read.forEach((r, i) => {
      if (r.status === "fulfilled") for (const [k, c] of r.value) all.set(k, c);
      else deps.log.warn({ observer: urls[i], err: String(r.reason) }, "sizing scrape failed");
    });
    for (const [k, c] of all) observe(deps.store, k, c, now);
    expire(deps.store, now);
    deps.onSample?.();
  }

  return {
    once,
    start() {
      running = true;
      const tick = async () => {
        await once().catch((err: unknown) =>
          deps.log.warn({ err: String(err) }, "sizing sample failed"),
        );
        if (running) timer = setTimeout(() => void tick(), deps.intervalMs);
      };
      void tick();
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
    },
  };
}
