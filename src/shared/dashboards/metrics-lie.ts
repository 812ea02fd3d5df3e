// Metrics lie: one container, the averaged CPU metric beside what the kernel
// counted in the same window. The top row is the contrast in one glance —
// average use as a share of the limit next to the share of CFS periods the
// kernel throttled, both from the gateway's truth-vs-metrics (exact counter
// differences over the dashboard's range); below, the same two over time
// (Prometheus), run-queue delay, and the whole truth-vs-metrics row.
import {
  columns,
  dashboard,
  fieldOf,
  gateway,
  layout,
  oneColor,
  prom,
  stat,
  table,
  timeseries,
  namespaceAndPod,
  unitOf,
  variable,
  type PanelSpec,
} from "./panels.ts";
import { METRIC } from "../signals/catalogue.ts";

const filters = { namespace: "$namespace", pod: "$pod", container: "$container" };
const sel = 'namespace="$namespace",pod="$pod",container="$container"';
const rate = (metric: string) => `sum(rate(${metric}{${sel}}[$__rate_interval]))`;
const truth = gateway({ refId: "A", queryType: "truth-vs-metrics", filters });
const WINDOW =
  "For the selected container over the dashboard's time range, from the gateway's truth-vs-metrics: exact differences of the kernel's counters (cpuacct usage, cpu.stat) at the window's two ends.";

/** One number of the truth-vs-metrics row, as a stat. */
const truthStat = (field: string, s: Omit<PanelSpec, "targets" | "w" | "h">) =>
  stat({
    ...s,
    w: 6,
    h: 7,
    targets: [truth],
    options: {
      reduceOptions: { calcs: ["lastNotNull"], fields: `/^${field}$/`, values: false },
      textMode: "value",
      graphMode: "none",
      colorMode: "background",
    },
  });

export const metricsLie = () =>
  dashboard(
    {
      uid: "kg-metrics-lie",
      title: "Metrics lie",
      description:
        "One container: average CPU as a share of its limit (what dashboards usually show) beside the share of CFS periods the kernel throttled it in, for the same window, then the same over time and its run-queue delay.",
      tags: ["truth-vs-metrics"],
      time: { from: "now-30m", to: "now" },
      refresh: "30s",
      templating: {
        list: [
          ...namespaceAndPod({ multi: false }),
          // Containers the API has not named show as their 12-hex id: the pod's sandbox
          // (pause, no limit) and containers that died before their name arrived.
          variable("container", "Container", "containers", {
            multi: false,
            scope: { namespace: "$namespace", pod: "$pod" },
            regex: "/^(?![0-9a-f]{12}$).+$/",
          }),
        ],
      },
      annotations: { list: [] },
      panels: layout([
        [
          truthStat("avgCpuPercentOfLimit", {
            title: "What averaged metrics show: CPU use, % of limit",
            description: `What averaged CPU metrics show: CPU seconds used / (limit cores × window). ${WINDOW}`,
            unit: "percent",
            decimals: 0,
            min: 0,
            max: 100,
            thresholds: oneColor("green"),
          }),
          truthStat("throttledPeriodsRatio", {
            title: "What the kernel did: CFS periods throttled",
            description: `What the kernel did: throttled periods / periods (cpu.stat nr_throttled / nr_periods). ${WINDOW}`,
            unit: "percentunit",
            decimals: 0,
            min: 0,
            max: 1,
            // The operator's warning and critical ratios (src/operator engine thresholds).
            thresholds: {
              mode: "absolute",
              steps: [
                { color: "green", value: null },
                { color: "orange", value: 0.1 },
                { color: "red", value: 0.3 },
              ],
            },
          }),
          truthStat("throttledSeconds", {
            title: "Time throttled",
            description: `Time the kernel held the container's threads back for its quota (cpu.stat throttled_time). ${WINDOW}`,
            unit: "s",
            thresholds: oneColor("orange"),
          }),
          truthStat("cpuLimitCores", {
            title: "CPU limit",
            description: `The container's CFS quota / period. ${WINDOW}`,
            unit: "suffix: cores",
            thresholds: oneColor("blue"),
            // The gateway's frame calls it "short"; the panel knows it is cores.
            overrides: [unitOf("cpuLimitCores", "suffix: cores")],
          }),
        ],
        [
          timeseries({
            title: "Averaged CPU vs throttled periods",
            description:
              "Average CPU use as % of the CFS limit (rate of usage seconds / limit cores) and the % of CFS periods in which the kernel throttled the container, same step.",
            unit: "percent",
            w: 16,
            h: 12,
            min: 0,
            targets: [
              prom(
                "A",
                `100 * ${rate(METRIC.usageSeconds)} / sum(${METRIC.limitCores}{${sel}})`,
                "average CPU (% of limit)",
              ),
              prom(
                "B",
                `100 * ${rate(METRIC.throttledPeriods)} / ${rate(METRIC.periods)}`,
                "throttled periods (%)",
              ),
            ],
            overrides: [
              fieldOf("average CPU (% of limit)", {
                color: { mode: "fixed", fixedColor: "green" },
              }),
              fieldOf("throttled periods (%)", { color: { mode: "fixed", fixedColor: "red" } }),
            ],
          }),
          timeseries({
            title: "Run-queue delay",
            description:
              "How long the container's runnable threads waited for a CPU (quantiles of the kernel's sched_switch measurements), from the gateway.",
            unit: "s",
            w: 8,
            h: 12,
            min: 0,
            targets: [
              gateway({ refId: "A", queryType: "signal", signal: "runqueue-delay", filters }),
            ],
            options: { legend: { displayMode: "list", placement: "bottom", calcs: [] } },
          }),
        ],
        [
          table({
            title: "Truth vs metrics over the range",
            description: `Every number of the comparison, with its window. ${WINDOW}`,
            unit: "short",
            w: 24,
            h: 5,
            targets: [truth],
            transformations: columns([
              ["workload"],
              ["windowStart", "from"],
              ["windowEnd", "to"],
              ["avgCpuPercentOfLimit", "average CPU, % of limit"],
              ["cpuLimitCores", "limit"],
              ["throttledPeriodsRatio", "throttled periods"],
              ["periods"],
              ["throttledPeriods", "throttled"],
              ["throttledSeconds", "time throttled"],
              ["runqueueDelayP99", "run-queue delay p99"],
            ]),
            overrides: [
              fieldOf("from", { unit: "time:HH:mm:ss" }),
              fieldOf("to", { unit: "time:HH:mm:ss" }),
              fieldOf("average CPU, % of limit", { unit: "percent", decimals: 1 }),
              fieldOf("limit", { unit: "suffix: cores" }),
              fieldOf("throttled periods", { unit: "percentunit", decimals: 1 }),
              fieldOf("time throttled", { unit: "s" }),
              fieldOf("run-queue delay p99", { unit: "s" }),
            ],
          }),
        ],
      ]),
    },
    // Whisper annotations of the pod (its pod-level cgroup's whispers included).
    { namespace: "$namespace", pod: "$pod" },
  );
