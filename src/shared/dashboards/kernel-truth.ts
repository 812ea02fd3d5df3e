// Kernel truth overview: what the kernel says per namespace and pod — active
// whispers, and each kernel signal over time — with variables from the plugin.
import { SIGNAL_DEFS, type PlotSignal } from "../../gateway/signals.ts";
import {
  dashboard,
  gateway,
  layout,
  namespaceAndPod,
  prom,
  stat,
  table,
  timeseries,
  variable,
} from "./panels.ts";

const filters = { namespace: "$namespace", pod: "$pod" };

const signalPanel = (signal: PlotSignal, title: string) =>
  timeseries({
    title,
    description: `${SIGNAL_DEFS[signal].description} Per workload, from the observers' kernel counters through the gateway.`,
    unit: SIGNAL_DEFS[signal].unit,
    w: 12,
    h: 8,
    min: 0,
    targets: [gateway({ refId: "A", queryType: "signal", signal, filters })],
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
            title: "Active whispers",
            description:
              "KernelWhispers overlapping the time range: the kernel's numbers (quantity, value, unit, window), what averaged metrics said, and the operator's recommendation.",
            unit: "short",
            w: 24,
            h: 9,
            targets: [
              gateway({
                refId: "A",
                queryType: "whispers",
                format: "table",
                filters: { ...filters, signal: ["$signal"] },
              }),
            ],
            options: { sortBy: [{ displayName: "lastSeen", desc: true }] },
          }),
        ],
        [
          signalPanel("cpu-throttling", "CFS throttled periods (share)"),
          signalPanel("runqueue-delay", "Run-queue delay (quantiles)"),
        ],
        [
          signalPanel("memory-pressure", "Memory stall (PSI seconds per second)"),
          signalPanel("oom-kill", "OOM kills (per step)"),
        ],
        [
          signalPanel("packet-drops", "Packet drops by reason"),
          signalPanel("tcp-retransmits", "TCP retransmits"),
        ],
        [
          stat({
            title: "Kernel events lost in range",
            description:
              "Events the observers' ring buffers could not take (increase of kernel_gossip_events_lost_total over the time range); non-zero means some counts above are low.",
            unit: "short",
            w: 12,
            h: 4,
            targets: [
              prom(
                "A",
                "sum(increase(kernel_gossip_events_lost_total[$__range])) or vector(0)",
                "lost events",
                "instant",
              ),
            ],
          }),
          stat({
            title: "Observers reporting",
            description:
              "Observers whose /metrics Prometheus holds now (one kernel_gossip_scrape_duration_seconds series each).",
            unit: "short",
            w: 12,
            h: 4,
            targets: [
              prom(
                "A",
                "count(kernel_gossip_scrape_duration_seconds) or vector(0)",
                "observers",
                "instant",
              ),
            ],
          }),
        ],
      ]),
    },
    filters,
  );
