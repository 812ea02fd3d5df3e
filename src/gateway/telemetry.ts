// The gateway's own metrics (GET /metrics): requests and latency by route,
// source errors, cache sizes, live stream clients, and process figures (RSS).
// A registry per gateway instance, so tests can run several side by side.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Telemetry {
  registry: Registry;
  requests: Counter<"route" | "method" | "status">;
  latency: Histogram<"route" | "method">;
  sourceErrors: Counter<"source">;
  sourceLatency: Histogram<"source">;
  sourceCache: Counter<"source" | "outcome">;
  streamClients: Gauge;
  otlpPoints: Counter<"outcome">;
  pixieForwards: Counter<"outcome">;
  /** Registers a gauge read at scrape time, e.g. a cache size. */
  cacheSize(kind: string, read: () => number): void;
}

export function createTelemetry(): Telemetry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "kernel_gossip_gateway_" });
  const reads = new Map<string, () => number>();
  new Gauge({
    name: "kernel_gossip_gateway_cache_objects",
    help: "Objects held in the informer caches, by kind.",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      for (const [kind, read] of reads) this.set({ kind }, read());
    },
  });
  return {
    registry,
    requests: new Counter({
      name: "kernel_gossip_gateway_requests_total",
      help: "HTTP requests answered, by route template, method and status.",
      labelNames: ["route", "method", "status"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "kernel_gossip_gateway_request_duration_seconds",
      help: "Time to answer an HTTP request, by route template.",
      labelNames: ["route", "method"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    sourceErrors: new Counter({
      name: "kernel_gossip_gateway_source_errors_total",
      help: "Failed calls to a source (Prometheus, observer, Kubernetes watch), by source.",
      labelNames: ["source"],
      registers: [registry],
    }),
    sourceLatency: new Histogram({
      name: "kernel_gossip_gateway_source_request_duration_seconds",
      help: "Time of one call to a source over the network (a Prometheus HTTP API request), by source.",
      labelNames: ["source"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    sourceCache: new Counter({
      name: "kernel_gossip_gateway_source_cache_total",
      help: "Source API calls by answer-cache outcome: hit (cached), shared (joined an identical call in flight), miss (sent).",
      labelNames: ["source", "outcome"],
      registers: [registry],
    }),
    streamClients: new Gauge({
      name: "kernel_gossip_gateway_stream_clients",
      help: "Open /api/v1/stream connections.",
      registers: [registry],
    }),
    otlpPoints: new Counter({
      name: "kernel_gossip_gateway_otlp_points_total",
      help: "OTLP data points received on /v1/metrics: stored, or rejected (partial success).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    pixieForwards: new Counter({
      name: "kernel_gossip_gateway_pixie_forwards_total",
      help: "Posts of Pixie findings to the operator's /webhooks/pixie, by outcome (sent, failed).",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    cacheSize(kind, read) {
      reads.set(kind, read);
    },
  };
}
