// A generator exporter for the benchmark: observer-shaped series (the same
// metric names, labels and histogram buckets as observer/src/metrics.rs) for
// many pods, so Prometheus ingests them by really scraping, at the load of a
// large node pool. Values are synthetic and say so: counters grow at a
// per-pod rate from the exporter's start; nothing here is a measurement.
import { createServer, type Server } from "node:http";
import { METRIC, OBSERVER_METRICS } from "../../src/shared/signals/catalogue.ts";

export interface ExporterOptions {
  pods: number;
  namespaces: number;
  nodes: number;
}

/** Observer bucket bounds: 1.024 µs doubling up to ~68.7 s, then +Inf. */
const BUCKETS = Array.from({ length: 27 }, (_, i) => 1.024e-6 * 2 ** i);

export function podName(i: number) {
  return { namespace: `bench-ns-${i % 20}`, pod: `bench-pod-${i}`, container: "app" };
}

function render(node: number, opts: ExporterOptions, t: number): string {
  const out: string[] = [];
  const pods: number[] = [];
  for (let i = node; i < opts.pods; i += opts.nodes) pods.push(i);
  const labels = (i: number) => {
    const p = podName(i);
    return `namespace="${p.namespace}",pod="${p.pod}",container="${p.container}"`;
  };
  const counter = (name: string, help: string, f: (i: number) => number) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const i of pods) out.push(`${name}_total{${labels(i)}} ${f(i)}`);
  };
  const share = (i: number) => ((i * 37) % 100) / 100; // a fixed, per-pod throttled share
  counter(OBSERVER_METRICS.periods.metadata, "periods", () => Math.floor(10 * t));
  counter(OBSERVER_METRICS.throttledPeriods.metadata, "throttled", (i) =>
    Math.floor(10 * t * share(i)),
  );
  counter(OBSERVER_METRICS.throttledSeconds.metadata, "throttled s", (i) => 0.05 * t * share(i));
  counter(OBSERVER_METRICS.usageSeconds.metadata, "usage", (i) => 0.5 * t * (0.3 + 0.7 * share(i)));
  out.push(`# HELP ${METRIC.limitCores} limit`, `# TYPE ${METRIC.limitCores} gauge`);
  for (const i of pods) out.push(`${METRIC.limitCores}{${labels(i)}} 0.5`);
  out.push(`# HELP ${METRIC.runqueue} delay`, `# TYPE ${METRIC.runqueue} histogram`);
  for (const i of pods) {
    const n = Math.floor(100 * t);
    // Cumulative counts of an exponential-ish delay distribution centred per pod.
    const centre = 8 + (i % 8);
    BUCKETS.forEach((le, b) => {
      const c = Math.floor(n * Math.min(1, 2 ** (b - centre - 1)));
      out.push(`${METRIC.runqueue}_bucket{le="${le}",${labels(i)}} ${c}`);
    });
    const sum = n * (BUCKETS[centre] ?? 0);
    out.push(`${METRIC.runqueue}_bucket{le="+Inf",${labels(i)}} ${n}`);
    out.push(`${METRIC.runqueue}_sum{${labels(i)}} ${sum}`);
    out.push(`${METRIC.runqueue}_count{${labels(i)}} ${n}`);
  }
  out.push("# EOF", "");
  return out.join("\n");
}

/** Serves /node-<n>/metrics for n in [0, nodes). */
export function startExporter(opts: ExporterOptions, port: number): Promise<Server> {
  const start = Date.now();
  const server = createServer((req, res) => {
    const m = /^\/node-(\d+)\/metrics$/.exec(req.url ?? "");
    const node = Number(m?.[1]);
    if (!m || node >= opts.nodes) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": "application/openmetrics-text; version=1.0.0; charset=utf-8",
    });
    res.end(render(node, opts, (Date.now() - start) / 1000));
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}
