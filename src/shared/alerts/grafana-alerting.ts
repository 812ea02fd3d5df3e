// The alert rules (rules.ts) as Grafana alerting file provisioning
// (provisioning/alerting/): one rule group over the Prometheus data source —
// A: the value per workload (instant query), B: reduce to the last value,
// C: threshold on B, the condition — a webhook contact point posting to the
// operator's /webhooks/grafana with bearer auth and an HMAC-SHA256 signature,
// and the notification policy routing to it. Grafana-managed rules need a
// backend data source, hence Prometheus and not the frontend-only plugin.
//
// Grafana expands `$VAR` / `${VAR}` in labels and settings but not in the
// query model; annotations keep `{{ $labels.x }}` templates (only braced
// `${…}` would expand there), so labels stay literal.
import { ENV, env, EXPR_DS, FOLDER, PROMETHEUS_DS } from "../grafana/contract.ts";
import { ALERT_SPECS, extraMatchers, type AlertSpec, type RuleOptions } from "./rules.ts";

export const CONTACT_POINT = "kernel-gossip-operator";
export const RECEIVER_UID = "kernel-gossip-operator-webhook";
export const HMAC_HEADER = "X-Grafana-Alerting-Signature";
export const HMAC_TIMESTAMP_HEADER = "X-Grafana-Alerting-Timestamp";
/** The refId whose value the operator reads (annotation kernel_gossip_value_ref). */
export const VALUE_REF = "B";
/** Grafana's relative range for the query: enough history for the rate window. */
const LOOKBACK_SECONDS = 600;

function rule(s: AlertSpec, o: RuleOptions) {
  return {
    uid: s.uid,
    title: s.alert,
    condition: "C",
    data: [
      {
        refId: "A",
        relativeTimeRange: { from: LOOKBACK_SECONDS, to: 0 },
        datasourceUid: PROMETHEUS_DS.uid,
        model: {
          refId: "A",
          datasource: PROMETHEUS_DS,
          expr: s.value(extraMatchers(o), o.window),
          instant: true,
          range: false,
          intervalMs: 1000,
          maxDataPoints: 43200,
        },
      },
      {
        refId: VALUE_REF,
        relativeTimeRange: { from: 0, to: 0 },
        datasourceUid: EXPR_DS.uid,
        model: {
          refId: VALUE_REF,
          datasource: EXPR_DS,
          type: "reduce",
          expression: "A",
          reducer: "last",
          settings: { mode: "dropNN" },
        },
      },
      {
        refId: "C",
        relativeTimeRange: { from: 0, to: 0 },
        datasourceUid: EXPR_DS.uid,
        model: {
          refId: "C",
          datasource: EXPR_DS,
          type: "threshold",
          expression: VALUE_REF,
          conditions: [{ evaluator: { type: "gt", params: [s.threshold] } }],
        },
      },
    ],
    // No series means the kernel saw nothing to complain about; a failing query is an error.
    noDataState: "OK",
    execErrState: "Error",
    for: s.for ?? o.for,
    annotations: {
      summary: s.summary(`$values.${VALUE_REF}.Value`),
      kernel_gossip_value_ref: VALUE_REF,
      kernel_gossip_quantity: s.quantity,
      kernel_gossip_unit: s.unit,
      kernel_gossip_window: o.window,
    },
    labels: { kernel_gossip_signal: s.signal, severity: s.severity },
    isPaused: false,
  };
}

export function grafanaAlerting(o: RuleOptions) {
  return {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: "kernel-gossip",
        folder: FOLDER,
        interval: o.interval,
        rules: ALERT_SPECS.map((s) => rule(s, o)),
      },
    ],
    contactPoints: [
      {
        orgId: 1,
        name: CONTACT_POINT,
        receivers: [
          {
            uid: RECEIVER_UID,
            type: "webhook",
            disableResolveMessage: false,
            settings: {
              url: `${env(ENV.operatorUrl)}/webhooks/grafana`,
              httpMethod: "POST",
              authorization_scheme: "Bearer",
              authorization_credentials: env(ENV.webhookToken),
              hmacConfig: {
                secret: env(ENV.hmacSecret),
                header: HMAC_HEADER,
                timestampHeader: HMAC_TIMESTAMP_HEADER,
              },
            },
          },
        ],
      },
    ],
    policies: [
      {
        orgId: 1,
        receiver: CONTACT_POINT,
        // One notification per workload and rule: the operator keys whispers the same way.
        group_by: ["alertname", "namespace", "pod", "container", "cgroup"],
        group_wait: "10s",
        group_interval: "1m",
        repeat_interval: "4h",
      },
    ],
  };
}
