// The signal catalogue (ADR 0100): the one place that names what crosses from
// the observer to everything that reads it — each metric family the observer
// exports (OpenMetrics name, type, unit, help) and, for each signal a panel or
// query plots, the families it is computed from, its Grafana unit and its
// description. The gateway, the dashboards and the alert rules import names
// from here; catalogue.test.ts checks the list against the observer's own
// families and that no other TypeScript spells a metric name out.
import { SIGNALS, type Signal } from "../model/kernel-whisper.ts";

export type MetricType = "counter" | "gauge" | "histogram";

/** One metric family as the observer declares it (observer/src/metrics*). */
export interface MetricFamily {
  /** The family name the observer passes to its encoder (no unit, no _total). */
  family: string;
  type: MetricType;
  /** OpenMetrics unit suffix the encoder appends (`seconds`), when the family has one. */
  unit?: "seconds";
  help: string;
  /** The name in `# TYPE` and `# HELP` lines: family and unit. */
  metadata: string;
  /** The name the samples carry in /metrics and Prometheus: family, unit, counters' `_total`. */
  name: string;
}

const family = (
  family: string,
  type: MetricType,
  help: string,
  unit?: "seconds",
): MetricFamily => ({
  family,
  type,
  help,
  ...(unit ? { unit } : {}),
  metadata: `${family}${unit ? `_${unit}` : ""}`,
  name: `${family}${unit ? `_${unit}` : ""}${type === "counter" ? "_total" : ""}`,
});

/** Every family the observer exports, keyed by the name code uses for it. */
export const OBSERVER_METRICS = {
  periods: family(
    "kernel_gossip_cpu_cfs_periods",
    "counter",
    "CFS bandwidth periods elapsed (cpu.stat nr_periods).",
  ),
  throttledPeriods: family(
    "kernel_gossip_cpu_cfs_throttled_periods",
    "counter",
    "CFS periods in which the cgroup was throttled (cpu.stat nr_throttled).",
  ),
  throttledSeconds: family(
    "kernel_gossip_cpu_cfs_throttled",
    "counter",
    "Time the cgroup's tasks were throttled (cpu.stat throttled_time/throttled_usec).",
    "seconds",
  ),
  usageSeconds: family(
    "kernel_gossip_cpu_usage",
    "counter",
    "CPU time consumed (cpuacct.usage or cpu.stat usage_usec).",
    "seconds",
  ),
  limitCores: family(
    "kernel_gossip_cpu_limit_cores",
    "gauge",
    "CFS quota / period, in cores (absent when unlimited).",
  ),
  runqueue: family(
    "kernel_gossip_runqueue_delay",
    "histogram",
    "Time runnable tasks waited for a CPU, by cpu cgroup.",
    "seconds",
  ),
  stolenSeconds: family(
    "kernel_gossip_runqueue_stolen",
    "counter",
    "Run-queue delay of the victim cgroup's tasks, split by the culprit cgroup that ran on that CPU meanwhile (ADR 0095).",
    "seconds",
  ),
  culpritsCut: family(
    "kernel_gossip_runqueue_culprits_cut",
    "counter",
    "Culprit slots the kernel's per-CPU top-k table evicted or refused (their time is in culprit _other_).",
  ),
  culpritsFolded: family(
    "kernel_gossip_runqueue_culprits_folded",
    "gauge",
    "Culprits of the victim beyond --max-culprits at this scrape, folded into culprit _other_.",
  ),
  oomKills: family(
    "kernel_gossip_oom_kills",
    "counter",
    "Tasks killed by the OOM killer, by the victim's memory cgroup.",
  ),
  cgroupEvents: family(
    "kernel_gossip_cgroup_events",
    "counter",
    "cgroup directories created/removed (cpu and memory hierarchies).",
  ),
  memoryStall: family(
    "kernel_gossip_memory_pressure_stall",
    "counter",
    "PSI memory stall time (some/full), per cgroup2 cgroup.",
    "seconds",
  ),
  memcgReclaimSeconds: family(
    "kernel_gossip_memcg_reclaim",
    "counter",
    "Time tasks spent in memcg direct reclaim, by memory cgroup.",
    "seconds",
  ),
  memcgReclaims: family(
    "kernel_gossip_memcg_reclaims",
    "counter",
    "memcg direct reclaim runs, by memory cgroup.",
  ),
  packetDrops: family(
    "kernel_gossip_packet_drops",
    "counter",
    "Packets dropped by the kernel, by drop reason and owning network namespace's workload.",
  ),
  retransmits: family(
    "kernel_gossip_tcp_retransmits",
    "counter",
    "TCP segments retransmitted, by network namespace's workload.",
  ),
  resets: family(
    "kernel_gossip_tcp_resets",
    "counter",
    "TCP resets sent/received, by network namespace's workload.",
  ),
  births: family(
    "kernel_gossip_births",
    "counter",
    "Pod/container starts captured, by whether the entrypoint exec was seen.",
  ),
  birthDuration: family(
    "kernel_gossip_birth_duration",
    "histogram",
    "First event of a capture window to its last entrypoint exec.",
    "seconds",
  ),
  birthSyscalls: family(
    "kernel_gossip_birth_syscalls",
    "histogram",
    "Syscalls made by the runtime and container processes during a capture window.",
  ),
  birthWindowsOpen: family(
    "kernel_gossip_birth_windows_open",
    "gauge",
    "Capture windows open now.",
  ),
  birthsDropped: family(
    "kernel_gossip_births_dropped",
    "counter",
    "Births not captured because too many windows were open.",
  ),
  birthSyscallProbe: family(
    "kernel_gossip_birth_syscall_probe_attached",
    "gauge",
    "1 while the raw_tp/sys_enter program is attached.",
  ),
  eventsLost: family(
    "kernel_gossip_events_lost",
    "counter",
    "Kernel events dropped because the ring buffer was full.",
  ),
  bpfRuns: family(
    "kernel_gossip_bpf_program_runs",
    "counter",
    "BPF program invocations (BPF_ENABLE_STATS run_cnt).",
  ),
  bpfRunSeconds: family(
    "kernel_gossip_bpf_program_run",
    "counter",
    "Time spent in BPF programs (BPF_ENABLE_STATS run_time_ns).",
    "seconds",
  ),
  bpfRecursionMisses: family(
    "kernel_gossip_bpf_program_recursion_misses",
    "counter",
    "Events a BPF program missed because it was already running on that CPU.",
  ),
  scrapeDuration: family(
    "kernel_gossip_scrape_duration",
    "gauge",
    "Duration of the previous /metrics scrape.",
    "seconds",
  ),
  cacheEntries: family(
    "kernel_gossip_cache_entries",
    "gauge",
    "Entries in the observer's attribution caches and BPF maps.",
  ),
  eventsPublished: family(
    "kernel_gossip_events_published",
    "counter",
    "Events published on /events.",
  ),
  eventClientsDropped: family(
    "kernel_gossip_event_clients_dropped",
    "counter",
    "/events clients disconnected for falling behind.",
  ),
  eventClients: family("kernel_gossip_event_clients", "gauge", "Connected /events clients."),
  workloadsFolded: family(
    "kernel_gossip_workloads_folded",
    "counter",
    "Distinct workloads folded into the overflow label because of the cardinality cap.",
  ),
  signalEnabled: family(
    "kernel_gossip_signal_enabled",
    "gauge",
    "1 when the signal is collected, with the mechanism serving it.",
  ),
} as const satisfies Record<string, MetricFamily>;

export type MetricKey = keyof typeof OBSERVER_METRICS;

/** Sample names by key: `METRIC.periods` is "kernel_gossip_cpu_cfs_periods_total". */
export const METRIC = Object.fromEntries(
  Object.entries(OBSERVER_METRICS).map(([k, f]) => [k, f.name]),
) as { readonly [K in MetricKey]: string };

/** The prefix every observer family shares (for `{__name__=~…}` selectors). */
export const METRIC_PREFIX = "kernel_gossip_";

/** Labels that identify a workload in observer metrics (plus `node`, added by scrape config). */
export const WORKLOAD_LABELS = ["namespace", "pod", "container", "cgroup", "node"] as const;

/** Whisper signals plus plain CPU usage, the "metric" side of truth-vs-metrics. */
export const PLOT_SIGNALS = [...SIGNALS, "cpu-usage"] as const;
export type PlotSignal = Signal | "cpu-usage";

/** How a signal is computed from observer metrics; every signal source evaluates it the same way. */
export type Recipe =
  | { kind: "ratio"; num: string; den: string }
  | { kind: "rate"; metric: string; by: string[] }
  | { kind: "increase"; metric: string; by: string[] }
  | { kind: "quantiles"; histogram: string; quantiles: number[] }
  | { kind: "usageOfLimit"; usage: string; limit: string };

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
