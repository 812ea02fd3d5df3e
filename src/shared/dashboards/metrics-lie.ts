// Metrics lie: one workload, the averaged CPU metric beside what the kernel
// counted in the same window — throttled periods and run-queue delay. The
// gateway's truth-vs-metrics table computes both from exact counter
// differences; the Prometheus panels show the same over time.
import { SIGNAL_DEFS } from "../../gateway/signals.ts";
import {
  dashboard,
  gateway,
  layout,
  prom,
  table,
  timeseries,
  namespaceAndPod,
  unitOf,
} from "./panels.ts";

const filters = { namespace: "$namespace", pod: "$pod" };
const sel = 'namespace="$namespace",pod="$pod"';
const rate = (metric: string) => `sum(rate(${metric}{${sel}}[$__rate_interval]))`;

export const metricsLie = () =>
  dashboard(
    {
      uid: "kg-metrics-lie",
      title: "Metrics lie",
      description:
        "One workload: average CPU as a share of its limit (what dashboards usually show) beside the kernel's throttled-period ratio and run-queue delay for the same window.",
      tags: ["truth-vs-metrics"],
      time: { from: "now-30m", to: "now" },
      refresh: "30s",
      templating: {
        list: [...namespaceAndPod({ multi: false })],
      },
      annotations: { list: [] },
      panels: layout([
        [
          table({
            title: "Truth vs metrics over the range",
            description:
              "Per workload over the whole time range (windowStart–windowEnd: the first and last counter readings): averaged CPU % of limit next to throttled periods, throttled time and run-queue delay.",
            unit: "short",
            w: 24,
            h: 7,
            targets: [gateway({ refId: "A", queryType: "truth-vs-metrics", filters })],
            overrides: [
              unitOf("avgCpuPercentOfLimit", "percent"),
              unitOf("throttledPeriodsRatio", "percentunit"),
              unitOf("throttledSeconds", "s"),
              unitOf("cpuLimitCores", "suffix: cores"),
              unitOf("^runqueueDelay", "s", true),
              unitOf("^(windowStart|windowEnd)$", "dateTimeAsIso", true),
            ],
          }),
        ],
        [
          timeseries({
            title: "Averaged CPU vs throttled periods",
            description:
              "Average CPU use as % of the CFS limit (rate of usage seconds / limit cores) and the % of CFS periods in which the kernel throttled the workload, same step.",
            unit: "percent",
            w: 12,
            h: 9,
            min: 0,
            targets: [
              prom(
                "A",
                `100 * ${rate("kernel_gossip_cpu_usage_seconds_total")} / sum(kernel_gossip_cpu_limit_cores{${sel}})`,
                "average CPU (% of limit)",
              ),
              prom(
                "B",
                `100 * ${rate("kernel_gossip_cpu_cfs_throttled_periods_total")} / ${rate("kernel_gossip_cpu_cfs_periods_total")}`,
                "throttled periods (%)",
              ),
            ],
          }),
          timeseries({
            title: "Run-queue delay",
            description:
              "How long the workload's runnable threads waited for a CPU (quantiles of the kernel's sched_switch measurements).",
            unit: "s",
            w: 12,
            h: 9,
            min: 0,
            targets: [0.5, 0.99].map((q, i) =>
              prom(
                String.fromCharCode(65 + i),
                `histogram_quantile(${q}, sum by (le) (rate(kernel_gossip_runqueue_delay_seconds_bucket{${sel}}[$__rate_interval])))`,
                `p${q * 100}`,
              ),
            ),
          }),
        ],
        (["cpu-usage", "cpu-throttling", "runqueue-delay"] as const).map((signal) =>
          timeseries({
            title: `Gateway: ${signal}`,
            description: `${SIGNAL_DEFS[signal].description} From the gateway, per container.`,
            unit: SIGNAL_DEFS[signal].unit,
            w: 8,
            h: 8,
            min: 0,
            targets: [gateway({ refId: "A", queryType: "signal", signal, filters })],
          }),
        ),
      ]),
    },
    filters,
  );
