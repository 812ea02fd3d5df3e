// Network drops: packets the kernel dropped, by its drop reason and by pod,
// from Prometheus over the observers' skb:kfree_skb counts — which reason hit
// which pod over the range as bars — plus the gateway's per-workload drops
// and TCP retransmits.
import { METRIC, SIGNAL_DEFS } from "../signals/catalogue.ts";
import {
  bargauge,
  columns,
  dashboard,
  fieldOf,
  gateway,
  layout,
  oneColor,
  prom,
  table,
  timeseries,
  namespaceAndPod,
} from "./panels.ts";

const filters = { namespace: "$namespace", pod: "$pod" };
const sel = 'namespace=~"$namespace",pod=~"$pod"';
const drops = (by: string, fn = "rate", w = "$__rate_interval") =>
  `sum by (${by}) (${fn}(${METRIC.packetDrops}{${sel}}[${w}]))`;
/** Drops per pod and reason over the whole range, largest first (instant, rounded to packets). */
const inRange = `sort_desc(round(${drops("namespace, pod, reason", "increase", "$__range")}) > 0)`;

export const networkDrops = () =>
  dashboard(
    {
      uid: "kg-network-drops",
      title: "Network drops",
      description:
        "Packets the kernel dropped (skb:kfree_skb with a drop reason), by reason and by pod, and TCP retransmits.",
      tags: ["network"],
      time: { from: "now-1h", to: "now" },
      refresh: "30s",
      templating: {
        list: [...namespaceAndPod()],
      },
      annotations: { list: [] },
      panels: layout([
        [
          timeseries({
            title: "Drops by reason",
            description: "Packets dropped per second, by the kernel's drop reason.",
            unit: "pps",
            w: 12,
            h: 8,
            min: 0,
            targets: [prom("A", drops("reason"), "{{reason}}")],
          }),
          timeseries({
            title: "Drops by pod",
            description:
              "Packets dropped per second, by pod (the pod owning the network namespace).",
            unit: "pps",
            w: 12,
            h: 8,
            min: 0,
            targets: [prom("A", drops("namespace, pod"), "{{namespace}}/{{pod}}")],
          }),
        ],
        [
          bargauge({
            title: "Which reason hit which pod (packets in range)",
            description:
              "Packets dropped over the whole time range (increase of the kernel's counters), per pod and drop reason, largest first.",
            unit: "suffix: packets",
            w: 14,
            h: 9,
            min: 0,
            thresholds: oneColor("orange"),
            targets: [prom("A", inRange, "{{pod}} · {{reason}}", "instant")],
            options: {
              reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
              displayMode: "gradient",
              namePlacement: "left",
            },
          }),
          table({
            title: "Drops in range by pod and reason",
            description:
              "The same numbers as a table: packets dropped over the time range per pod and drop reason.",
            unit: "suffix: packets",
            w: 10,
            h: 9,
            targets: [{ ...prom("A", inRange, "", "instant"), format: "table" }],
            transformations: columns([["namespace"], ["pod"], ["reason"], ["Value", "packets"]]),
            overrides: [fieldOf("packets", { "custom.width": 120 })],
          }),
        ],
        (["packet-drops", "tcp-retransmits"] as const).map((signal) =>
          timeseries({
            title: `Gateway: ${signal}`,
            description: `${SIGNAL_DEFS[signal].description} From the gateway, per workload.`,
            unit: SIGNAL_DEFS[signal].unit,
            w: 12,
            h: 8,
            min: 0,
            targets: [gateway({ refId: "A", queryType: "signal", signal, filters })],
          }),
        ),
      ]),
    },
    filters,
  );
