// Names every Grafana-facing file agrees on: data source uids and types, the
// folder, the dashboards mount path, and the environment variables the
// provisioning files read (Grafana expands `${VAR}` in provisioning values).
// Changing one here changes every generated file at once.

/** The data-source plugin built in src/plugin (Grafana's id pattern <org>-<name>-datasource). */
export const PLUGIN_ID = "kernelgossip-kernel-datasource";

export const GATEWAY_DS = { type: PLUGIN_ID, uid: "kernel-gossip-gateway" } as const;
export const PROMETHEUS_DS = { type: "prometheus", uid: "kernel-gossip-prometheus" } as const;
/** Grafana's server-side expressions (reduce, threshold, math) in alert rules. */
export const EXPR_DS = { type: "__expr__", uid: "__expr__" } as const;
export type DataSourceRef = typeof GATEWAY_DS | typeof PROMETHEUS_DS;

/** The plugin's settings: jsonData.gatewayUrl (proxy route target) and secureJsonData.apiToken. */
export const PLUGIN_JSON_URL = "gatewayUrl";
export const PLUGIN_SECURE_TOKEN = "apiToken";

/** Folder (title and uid) of the dashboards and of the alert rule group. */
export const FOLDER = "kernel-gossip";

/** Where a Grafana container mounts dashboards/ (the file provider's path). */
export const DASHBOARDS_MOUNT = "/var/lib/grafana/dashboards/kernel-gossip";

/**
 * Environment of the Grafana process. The webhook names are the operator's
 * own (src/operator/README.md), so one Secret feeds both ends.
 */
export const ENV = {
  gatewayUrl: "KG_GATEWAY_URL",
  gatewayToken: "KG_GATEWAY_TOKEN",
  prometheusUrl: "KG_PROMETHEUS_URL",
  operatorUrl: "KG_OPERATOR_URL",
  webhookToken: "KG_WEBHOOK_TOKEN",
  hmacSecret: "KG_WEBHOOK_HMAC_SECRET",
} as const;

/** `${VAR}`: Grafana's provisioning lookup of an environment variable. */
export const env = (name: string) => `\${${name}}`;
