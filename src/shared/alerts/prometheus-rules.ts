// The alert rules (rules.ts) as a Prometheus rule file: `<value> > <threshold>`
// per rule, with the operator's label contract and annotations carrying the
// value, its quantity name, unit and window, so the operator's
// /webhooks/alertmanager turns each alert into a KernelWhisper. The shipped
// file provisioning/prometheus/kernel-gossip-rules.yaml is generated from here.
import { ALERT_SPECS, extraMatchers, type RuleOptions } from "./rules.ts";

export { SHIPPED_RULES, type RuleOptions } from "./rules.ts";

export function prometheusRules(o: RuleOptions) {
  const m = extraMatchers(o);
  return {
    groups: [
      {
        name: "kernel-gossip",
        interval: o.interval,
        rules: ALERT_SPECS.map((s) => ({
          alert: s.alert,
          expr: `${s.value(m, o.window)} > ${s.threshold}`,
          for: s.for ?? o.for,
          labels: { kernel_gossip_signal: s.signal, severity: s.severity },
          annotations: {
            summary: s.summary("$value"),
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
