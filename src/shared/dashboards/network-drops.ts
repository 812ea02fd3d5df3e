// Network drops: packets the kernel dropped, by its drop reason and by pod,
// from Prometheus over the observers' skb:kfree_skb counts, plus the gateway's
// per-workload view and TCP retransmits.
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
const sel = 'namespace=~"$namespace",pod=~"$pod"';
const drops = (by: string, fn = "rate", w = "$__rate_interval") =>
  `sum by (${by}) (${fn}(kernel_gossip_packet_drops_total{${sel}}[${w}]))`;

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
            h: 9,
            min: 0,
            targets: [prom("A", drops("reason"), "{{reason}}")],
          }),
          timeseries({
            title: "Drops by pod",
            description: "Packets dropped per second, by pod.",
            unit: "pps",
            w: 12,
            h: 9,
            min: 0,
            targets: [prom("A", drops("namespace, pod"), "{{namespace}}/{{pod}}")],
          }),
        ],
        [
          table({
            title: "Drops in range by pod and reason",
            description:
              "Packets dropped over the whole time range (increase of the kernel's counters), per pod and drop reason.",
            unit: "suffix: packets",
            w: 24,
            h: 8,
            targets: [
              {
                ...prom(
                  "A",
                  drops("namespace, pod, reason", "increase", "$__range"),
                  "",
                  "instant",
                ),
                format: "table",
              },
            ],
            overrides: [unitOf("Time", "dateTimeAsIso")],
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
