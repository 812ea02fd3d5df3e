// The one source of the kernel-gossip alert rules. Each rule is a value
// expression over the observer's metrics (one series per workload) and a
// threshold; prometheus-rules.ts renders them as a Prometheus rule file,
// grafana-alerting.ts as Grafana alerting provisioning (query → reduce →
// threshold). Both carry the operator's label contract (kernel_gossip_signal,
// severity, subject labels from the series) and the evidence annotations.
import type { Unit } from "../model/common.ts";
import type { Severity, Signal } from "../model/kernel-whisper.ts";
import { METRIC, WORKLOAD_LABELS } from "../signals/catalogue.ts";

/** The labels that identify a workload in observer metrics (`node` comes from the scrape config). */
export const SUBJECT = WORKLOAD_LABELS.join(", ");

export interface AlertSpec {
  /** Prometheus alert name and Grafana rule title (both become the `alertname` label). */
  alert: string;
  /** Grafana rule uid: stable across renames of the title. */
  uid: string;
  /** Overrides the shared `for`: an OOM kill is an event, not a condition to wait out. */
  for?: string;
  signal: Signal;
  severity: Severity;
  quantity: string;
  unit: Unit;
  /** The rule fires when the value is greater than this. */
  threshold: number;
  /**
   * Summary template; `v` is the template expression of the value — `$value` in
   * Prometheus, `$values.B.Value` in Grafana — so both say the same sentence.
   */
  summary: (v: string) => string;
  /** The value per workload; `m` adds label matchers (`,cgroup="/x"` or ""), `w` is the window. */
  value: (m: string, w: string) => string;
}

/** `{a="b"}` from extra matchers, or "" when there are none. */
export const braces = (m: string) => (m ? `{${m.replace(/^,/, "")}}` : "");

export const ALERT_SPECS: readonly AlertSpec[] = [
  {
    alert: "KernelCpuThrottling",
    uid: "kg-cpu-throttling",
    signal: "cpu-throttling",
    severity: "warning",
    quantity: "throttledPeriodsRatio",
    unit: "ratio",
    threshold: 0.1,
    summary: (v) =>
      `The kernel throttled {{ $labels.pod }}{{ $labels.cgroup }} in {{ ${v} | humanizePercentage }} of CFS periods.`,
    value: (m, w) =>
      `sum by (${SUBJECT}) (rate(${METRIC.throttledPeriods}${braces(m)}[${w}])) / sum by (${SUBJECT}) (rate(${METRIC.periods}${braces(m)}[${w}]))`,
  },
  {
    alert: "KernelRunqueueDelay",
    uid: "kg-runqueue-delay",
    signal: "runqueue-delay",
    severity: "warning",
    quantity: "runqueueDelayP99Seconds",
    unit: "seconds",
    threshold: 0.01,
    summary: (v) =>
      `Runnable threads of {{ $labels.pod }}{{ $labels.cgroup }} wait {{ ${v} | humanizeDuration }} (p99) for a CPU.`,
    value: (m, w) =>
      `histogram_quantile(0.99, sum by (le, ${SUBJECT}) (rate(${METRIC.runqueue}_bucket${braces(m)}[${w}])))`,
  },
  {
    alert: "KernelOomKill",
    uid: "kg-oom-kill",
    for: "0s",
    signal: "oom-kill",
    severity: "critical",
    quantity: "oomKills",
    unit: "count",
    threshold: 0,
    summary: () => "The kernel OOM-killed a process of {{ $labels.pod }}{{ $labels.cgroup }}.",
    // A cgroup's counter appears with its first kill, so increase() alone misses
    // that kill; the `unless … offset` arm catches series that are new in the window.
    value: (m, w) =>
      `((sum by (${SUBJECT}) (increase(${METRIC.oomKills}${braces(m)}[${w}])) > 0) or sum by (${SUBJECT}) (${METRIC.oomKills}${braces(m)} unless ${METRIC.oomKills}${braces(m)} offset ${w}))`,
  },
  {
    alert: "KernelMemoryPressure",
    uid: "kg-memory-pressure",
    signal: "memory-pressure",
    severity: "warning",
    quantity: "stallSeconds",
    unit: "seconds",
    threshold: 1,
    summary: (v) =>
      `Tasks of {{ $labels.pod }}{{ $labels.cgroup }} stalled on memory for {{ ${v} | humanizeDuration }}.`,
    value: (m, w) => `sum by (${SUBJECT}) (increase(${METRIC.memoryStall}{kind="some"${m}}[${w}]))`,
  },
  {
    alert: "KernelPacketDrops",
    uid: "kg-packet-drops",
    signal: "packet-drops",
    severity: "warning",
    quantity: "drops",
    unit: "packets",
    threshold: 100,
    summary: (v) =>
      `The kernel dropped {{ ${v} }} packets of {{ $labels.pod }}{{ $labels.cgroup }} ({{ $labels.reason }}).`,
    value: (m, w) =>
      `sum by (${SUBJECT}, reason) (increase(${METRIC.packetDrops}${braces(m)}[${w}]))`,
  },
  {
    alert: "KernelTcpRetransmits",
    uid: "kg-tcp-retransmits",
    signal: "tcp-retransmits",
    severity: "warning",
    quantity: "retransmits",
    unit: "count",
    threshold: 10,
    summary: (v) =>
      `TCP retransmitted {{ ${v} }} segments of {{ $labels.pod }}{{ $labels.cgroup }}.`,
    value: (m, w) => `sum by (${SUBJECT}) (increase(${METRIC.retransmits}${braces(m)}[${w}]))`,
  },
];

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

/** What ships (both renderings): 5m windows, 1m `for`, evaluated every 30s. */
export const SHIPPED_RULES: RuleOptions = { window: "5m", for: "1m", interval: "30s" };

/** The matcher argument specs take: `,a="b"` or "". */
export const extraMatchers = (o: RuleOptions) => (o.matchers ? `,${o.matchers}` : "");
