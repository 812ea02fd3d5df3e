// Prometheus alerting rules over the observer's metrics. Each alert carries the
// operator's label contract (kernel_gossip_signal + subject labels, severity)
// and annotations with the value, its quantity name, unit and window, so the
// operator's /webhooks/alertmanager turns it into a KernelWhisper. The shipped
// file deploy/prometheus/kernel-gossip-rules.yaml is generated from here.
import type { Unit } from "../model/common.ts";
import type { Severity, Signal } from "../model/kernel-whisper.ts";

export interface RuleOptions {
  /** Rate window, a Prometheus duration ("5m"). */
  window: string;
  /** How long a condition must hold before firing ("1m"). */
  for: string;
  /** Rule evaluation interval ("30s"). */
  interval: string;
  /** Extra label matchers added to every selector, e.g. `cgroup="/kg-test"`. */
  matchers?: string;
}

const SUBJECT = "namespace, pod, container, cgroup, node";

interface Spec {
  alert: string;
  /** Overrides RuleOptions.for: an OOM kill is an event, not a condition to wait out. */
  for?: string;
  signal: Signal;
  severity: Severity;
  quantity: string;
  unit: Unit;
  summary: string;
  expr: (sel: string, w: string) => string;
}

const SPECS: Spec[] = [
  {
    alert: "KernelCpuThrottling",
    signal: "cpu-throttling",
    severity: "warning",
    quantity: "throttledPeriodsRatio",
    unit: "ratio",
    summary:
      "The kernel throttled {{ $labels.pod }}{{ $labels.cgroup }} in {{ $value | humanizePercentage }} of CFS periods.",
    expr: (sel, w) =>
      `sum by (${SUBJECT}) (rate(kernel_gossip_cpu_cfs_throttled_periods_total${sel}[${w}])) / sum by (${SUBJECT}) (rate(kernel_gossip_cpu_cfs_periods_total${sel}[${w}])) > 0.1`,
  },
  {
    alert: "KernelRunqueueDelay",
    signal: "runqueue-delay",
    severity: "warning",
    quantity: "runqueueDelayP99Seconds",
    unit: "seconds",
    summary:
      "Runnable threads of {{ $labels.pod }}{{ $labels.cgroup }} wait {{ $value | humanizeDuration }} (p99) for a CPU.",
    expr: (sel, w) =>
      `histogram_quantile(0.99, sum by (le, ${SUBJECT}) (rate(kernel_gossip_runqueue_delay_seconds_bucket${sel}[${w}]))) > 0.01`,
  },
  {
    alert: "KernelOomKill",
    for: "0s",
    signal: "oom-kill",
    severity: "critical",
    quantity: "oomKills",
    unit: "count",
    summary: "The kernel OOM-killed a process of {{ $labels.pod }}{{ $labels.cgroup }}.",
    // A cgroup's counter appears with its first kill, so increase() alone misses
    // that kill; the `unless … offset` arm catches series that are new in the window.
    expr: (sel, w) =>
      `(sum by (${SUBJECT}) (increase(kernel_gossip_oom_kills_total${sel}[${w}])) > 0) or sum by (${SUBJECT}) (kernel_gossip_oom_kills_total${sel} unless kernel_gossip_oom_kills_total${sel} offset ${w})`,
  },
  {
    alert: "KernelMemoryPressure",
    signal: "memory-pressure",
    severity: "warning",
    quantity: "stallSeconds",
    unit: "seconds",
    summary: "Tasks of {{ $labels.pod }}{{ $labels.cgroup }} stalled on memory.",
    expr: (sel, w) =>
      `sum by (${SUBJECT}) (increase(kernel_gossip_memory_pressure_stall_seconds_total{kind="some"${sel ? `,${sel.slice(1, -1)}` : ""}}[${w}])) > 1`,
  },
  {
    alert: "KernelPacketDrops",
    signal: "packet-drops",
    severity: "warning",
    quantity: "drops",
    unit: "packets",
    summary:
      "The kernel dropped {{ $value }} packets of {{ $labels.pod }}{{ $labels.cgroup }} ({{ $labels.reason }}).",
    expr: (sel, w) =>
      `sum by (${SUBJECT}, reason) (increase(kernel_gossip_packet_drops_total${sel}[${w}])) > 100`,
  },
  {
    alert: "KernelTcpRetransmits",
    signal: "tcp-retransmits",
    severity: "warning",
    quantity: "retransmits",
    unit: "count",
    summary: "TCP retransmitted {{ $value }} segments of {{ $labels.pod }}{{ $labels.cgroup }}.",
    expr: (sel, w) =>
      `sum by (${SUBJECT}) (increase(kernel_gossip_tcp_retransmits_total${sel}[${w}])) > 10`,
  },
];

export const SHIPPED_RULES: RuleOptions = { window: "5m", for: "1m", interval: "30s" };

export function prometheusRules(o: RuleOptions) {
  const sel = o.matchers ? `{${o.matchers}}` : "";
  return {
    groups: [
      {
        name: "kernel-gossip",
        interval: o.interval,
        rules: SPECS.map((s) => ({
          alert: s.alert,
          expr: s.expr(sel, o.window),
          for: s.for ?? o.for,
          labels: { kernel_gossip_signal: s.signal, severity: s.severity },
          annotations: {
            summary: s.summary,
            kernel_gossip_value: "{{ $value }}",
            kernel_gossip_quantity: s.quantity,
            kernel_gossip_unit: s.unit,
            kernel_gossip_window: o.window,
          },
        })),
      },
    ],
  };
}
