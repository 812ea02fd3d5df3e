// The signal catalogue: for each signal a dashboard can plot, the observer
// metrics it is computed from (a Recipe both signal sources evaluate the same
// way), its Grafana unit and its series naming. Metric names are the
// observer's (observer/src/metrics.rs); counters carry OpenMetrics' _total.
import { SIGNALS, type Signal } from "../shared/model/kernel-whisper.ts";
import type { Recipe } from "./sources/source.ts";

/** Whisper signals plus plain CPU usage, the "metric" side of truth-vs-metrics. */
export const PLOT_SIGNALS = [...SIGNALS, "cpu-usage"] as const;
export type PlotSignal = Signal | "cpu-usage";

/** Labels that identify a workload in observer metrics (plus `node`, added by scrape config). */
export const WORKLOAD_LABELS = ["namespace", "pod", "container", "cgroup", "node"] as const;

export const METRIC = {
  periods: "kernel_gossip_cpu_cfs_periods_total",
  throttledPeriods: "kernel_gossip_cpu_cfs_throttled_periods_total",
  throttledSeconds: "kernel_gossip_cpu_cfs_throttled_seconds_total",
  usageSeconds: "kernel_gossip_cpu_usage_seconds_total",
  limitCores: "kernel_gossip_cpu_limit_cores",
  runqueue: "kernel_gossip_runqueue_delay_seconds",
  oomKills: "kernel_gossip_oom_kills_total",
  memoryStall: "kernel_gossip_memory_pressure_stall_seconds_total",
  packetDrops: "kernel_gossip_packet_drops_total",
  retransmits: "kernel_gossip_tcp_retransmits_total",
  resets: "kernel_gossip_tcp_resets_total",
} as const;

export interface SignalDef {
  recipe: Recipe;
  /** Grafana unit id. */
  unit: string;
  description: string;
}

export const SIGNAL_DEFS: Record<PlotSignal, SignalDef> = {
  "cpu-throttling": {
    recipe: { kind: "ratio", num: METRIC.throttledPeriods, den: METRIC.periods },
    unit: "percentunit",
    description: "Share of CFS periods in which the cgroup was throttled (0-1).",
  },
  "cpu-usage": {
    recipe: { kind: "usageOfLimit", usage: METRIC.usageSeconds, limit: METRIC.limitCores },
    unit: "percent",
    description: "Average CPU usage as % of the CFS limit: the averaged metric.",
  },
  "runqueue-delay": {
    recipe: { kind: "quantiles", histogram: METRIC.runqueue, quantiles: [0.5, 0.9, 0.99] },
    unit: "s",
    description: "Run-queue delay quantiles (time runnable tasks waited for a CPU).",
  },
  "oom-kill": {
    recipe: { kind: "increase", metric: METRIC.oomKills, by: [] },
    unit: "short",
    description: "OOM kills per step.",
  },
  "memory-pressure": {
    recipe: { kind: "rate", metric: METRIC.memoryStall, by: ["kind"] },
    unit: "percentunit",
    description: "PSI memory stall seconds per second (some/full).",
  },
  "packet-drops": {
    recipe: { kind: "rate", metric: METRIC.packetDrops, by: ["reason"] },
    unit: "pps",
    description: "Packets dropped per second, by kernel drop reason.",
  },
  "tcp-retransmits": {
    recipe: { kind: "rate", metric: METRIC.retransmits, by: [] },
    unit: "pps",
    description: "TCP segments retransmitted per second.",
  },
  "tcp-resets": {
    recipe: { kind: "rate", metric: METRIC.resets, by: ["direction"] },
    unit: "cps",
    description: "TCP resets per second, sent and received.",
  },
};

/**
 * The window a rate looks back over at each step: Grafana's $__rate_interval
 * rule, so a step never falls between two scrapes and reads as a gap.
 */
export const rateWindowMs = (stepMs: number, scrapeMs: number) =>
  Math.max(stepMs + scrapeMs, 4 * scrapeMs);
