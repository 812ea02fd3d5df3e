// Kernel truth overview: what the kernel says per namespace and pod — the
// whispers with the operator's reading and recommendation, each kernel signal
// over time, and who stole whose CPU — with variables from the plugin. Fits one 1920×1080 screen
// (25 grid rows), the size it is shown at (docs/screenshots).
import { METRIC, SIGNAL_DEFS, type PlotSignal } from "../signals/catalogue.ts";
import {
  bargauge,
  columns,
  dashboard,
  fieldOf,
  gateway,
  layout,
  namespaceAndPod,
  oneColor,
  prom,
  stack,
  stat,
  table,
  timeseries,
  variable,
} from "./panels.ts";

const filters = { namespace: "$namespace", pod: "$pod" };

/** Only the series whose name ends in `only` (one quantile, one PSI kind); the time field stays. */
const keepSeries = (only: string) => ({
  id: "filterFieldsByName",
  options: { include: { pattern: `^(time|.* ${only})$` } },
});

const signalPanel = (signal: PlotSignal, title: string, h: number, only?: string) =>
  timeseries({
    title,
    description: `${SIGNAL_DEFS[signal].description} Per workload, from the observers' kernel counters through the gateway.`,
    unit: SIGNAL_DEFS[signal].unit,
    w: 8,
    h,
    min: 0,
    targets: [gateway({ refId: "A", queryType: "signal", signal, filters })],
    ...(only ? { transformations: [keepSeries(only)] } : {}),
    // Eight columns leave room for one calculation: the peak, highest first.
    options: {
      legend: {
        displayMode: "table",
        placement: "bottom",
        calcs: ["max"],
        sortBy: "Max",
        sortDesc: true,
      },
    },
  });

/**
 * Who stole my CPU (ADR 0095): run-queue delay by victim and the culprit that ran
 * meanwhile, over the time range, largest first. Prometheus directly: the
 * gateway's signal recipes filter on workload labels, these series carry
 * victim_* and culprit_* pairs.
 */
const stolenPanel = () =>
  bargauge({
    title: "Who stole my CPU (wait by culprit, in range)",
    description: `Run-queue delay of each victim pod's tasks while another cgroup ran on that CPU (${METRIC.stolenSeconds}, increase over the time range; the victim's own tasks and uncovered time left out), the 8 largest victim ← culprit pairs.`,
    unit: "s",
    w: 8,
    h: 8,
    min: 0,
    thresholds: oneColor("orange"),
    targets: [
      prom(
        "A",
        `topk(8, sum by (node, victim_namespace, victim_pod, victim_cgroup, culprit_namespace, culprit_pod, culprit_cgroup) (increase(${METRIC.stolenSeconds}{victim_namespace=~"$namespace|", victim_pod=~"$pod|", culprit_cgroup!~"_self_|_unknown_"}[$__range])) > 0)`,
        "{{victim_namespace}}/{{victim_pod}}{{victim_cgroup}} ← {{culprit_namespace}}/{{culprit_pod}}{{culprit_cgroup}} on {{node}}",
        "instant",
      ),
    ],
    options: { displayMode: "basic", showUnfilled: true },
  });

export const kernelTruth = () =>
  dashboard(
    {
      uid: "kg-kernel-truth",
      title: "Kernel truth overview",
      description:
        "Per namespace and pod: the kernel's own account (CFS throttling, run-queue delay, memory stalls, OOM kills, drops, retransmits) and the KernelWhispers the operator wrote from it.",
      tags: ["overview"],
      time: { from: "now-1h", to: "now" },
      refresh: "30s",
      templating: {
        list: [
          ...namespaceAndPod(),
          // Whispers exist for kernel signals only; cpu-usage is the averaged metric.
          variable("signal", "Signal", "signals", { regex: "/^(?!cpu-usage$).+$/" }),
        ],
      },
      annotations: { list: [] },
      panels: layout([
        [
          table({
            title: "Kernel whispers, newest per pod and signal",
            description:
              "KernelWhispers overlapping the time range, worst first: which pod, which kernel signal, what the kernel counted (and what averaged metrics said), and what the operator recommends.",
            unit: "short",
            w: 20,
            h: 9,
            targets: [
              gateway({
                refId: "A",
                queryType: "whispers",
                format: "table",
                filters: { ...filters, signal: ["$signal"] },
              }),
            ],
            // One row per pod and signal: the newest whisper's words (the gateway sends
            // newest first; a pod's and its container's cgroup whisper apart).
            transformations: [
              {
                id: "groupBy",
                options: {
                  fields: {
                    namespace: { operation: "groupby", aggregations: [] },
                    pod: { operation: "groupby", aggregations: [] },
                    signal: { operation: "groupby", aggregations: [] },
                    lastSeen: { operation: "aggregate", aggregations: ["max"] },
                    severity: { operation: "aggregate", aggregations: ["firstNotNull"] },
                    insight: { operation: "aggregate", aggregations: ["firstNotNull"] },
                    recommendation: { operation: "aggregate", aggregations: ["firstNotNull"] },
                  },
                },
              },
              ...columns([
                ["lastSeen (max)", "last seen"],
                ["pod"],
                ["signal"],
                ["severity (firstNotNull)", "severity"],
                ["insight (firstNotNull)", "what the kernel said"],
                ["recommendation (firstNotNull)", "recommendation"],
              ]),
            ],
            overrides: [
              fieldOf("last seen", { unit: "time:HH:mm:ss", "custom.width": 80 }),
              fieldOf("pod", { "custom.width": 115 }),
              fieldOf("signal", { "custom.width": 115 }),
              fieldOf("severity", { "custom.width": 70 }),
              fieldOf("what the kernel said", { "custom.width": 600 }),
            ],
            custom: { wrapText: true },
            // Critical first, newest first within a severity.
            // Critical first ("critical" < "warning"); newest first within each, as the gateway sends them.
            options: { sortBy: [{ displayName: "severity", desc: false }] },
          }),
          stack(
            stat({
              title: "Observers reporting",
              description: `Observers whose /metrics Prometheus holds now (one ${METRIC.scrapeDuration} series each).`,
              unit: "short",
              w: 4,
              h: 4,
              thresholds: oneColor("blue"),
              options: { textMode: "value", graphMode: "none" },
              targets: [
                prom("A", `count(${METRIC.scrapeDuration}) or vector(0)`, "observers", "instant"),
              ],
            }),
            stat({
              title: "Kernel events lost in range",
              description: `Events the observers' ring buffers could not take (increase of ${METRIC.eventsLost} over the time range); non-zero means some counts above are low.`,
              unit: "short",
              w: 4,
              h: 5,
              thresholds: {
                mode: "absolute",
                steps: [
                  { color: "green", value: null },
                  { color: "red", value: 1 },
                ],
              },
              targets: [
                prom(
                  "A",
                  `sum(increase(${METRIC.eventsLost}[$__range])) or vector(0)`,
                  "lost events",
                  "instant",
                ),
              ],
            }),
          ),
        ],
        [
          signalPanel("cpu-throttling", "CFS throttled periods (share)", 8),
          signalPanel("runqueue-delay", "Run-queue delay (p99)", 8, "p99"),
          signalPanel("memory-pressure", "Memory stall, some tasks (PSI s/s)", 8, "some"),
        ],
        // The stolen-CPU panel took the OOM-kill and retransmit panels' room (25
        // rows, ADR 0082): both are rare events, shown as the range's totals and peak.
        [
          stolenPanel(),
          signalPanel("packet-drops", "Packet drops by reason", 8),
          stack(
            stat({
              title: "OOM kills in range",
              description: `${SIGNAL_DEFS["oom-kill"].description} Summed over the time range per workload. The per-step counts come from the counter's rate over a look-back window: kills in the range's last minute are not all in yet, and a workload's first kill (its counter appears at 1) is not counted.`,
              unit: "short",
              // Per-step counts come from a rate (catalogue "increase"), so their sum is
              // a count up to rounding: shown whole.
              decimals: 0,
              w: 8,
              h: 4,
              thresholds: oneColor("red"),
              options: { reduceOptions: { calcs: ["sum"], fields: "", values: false } },
              targets: [gateway({ refId: "A", queryType: "signal", signal: "oom-kill", filters })],
            }),
            stat({
              title: "TCP retransmits, peak",
              description: `${SIGNAL_DEFS["tcp-retransmits"].description} Peak per workload over the time range.`,
              unit: SIGNAL_DEFS["tcp-retransmits"].unit,
              w: 8,
              h: 4,
              thresholds: oneColor("blue"),
              options: { reduceOptions: { calcs: ["max"], fields: "", values: false } },
              targets: [
                gateway({ refId: "A", queryType: "signal", signal: "tcp-retransmits", filters }),
              ],
            }),
          ),
        ],
      ]),
    },
    filters,
  );
