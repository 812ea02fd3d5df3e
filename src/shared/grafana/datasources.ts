// provisioning/datasources: the kernel-gossip plugin pointed at the gateway
// (token only in secureJsonData, so Grafana's proxy adds it server-side) and
// the Prometheus that scrapes the observers (alert rules query it: a
// frontend-only plugin cannot be alerted on).
import {
  ENV,
  env,
  GATEWAY_DS,
  PLUGIN_JSON_URL,
  PLUGIN_SECURE_TOKEN,
  PROMETHEUS_DS,
} from "./contract.ts";

export const datasourcesFile = () => ({
  apiVersion: 1,
  datasources: [
    {
      name: "kernel-gossip",
      uid: GATEWAY_DS.uid,
      type: GATEWAY_DS.type,
      access: "proxy",
      orgId: 1,
      url: env(ENV.gatewayUrl),
      isDefault: true,
      editable: false,
      jsonData: { [PLUGIN_JSON_URL]: env(ENV.gatewayUrl) },
      secureJsonData: { [PLUGIN_SECURE_TOKEN]: env(ENV.gatewayToken) },
    },
    {
      name: "kernel-gossip Prometheus",
      uid: PROMETHEUS_DS.uid,
      type: PROMETHEUS_DS.type,
      access: "proxy",
      orgId: 1,
      url: env(ENV.prometheusUrl),
      isDefault: false,
      editable: false,
      // The scrape interval the gateway assumes too (KG_SCRAPE_INTERVAL); $__rate_interval builds on it.
      jsonData: { timeInterval: "15s", httpMethod: "POST" },
    },
  ],
});

export const dashboardProvidersFile = (mount: string) => ({
  apiVersion: 1,
  providers: [
    {
      name: "kernel-gossip",
      orgId: 1,
      folder: "kernel-gossip",
      folderUid: "kernel-gossip",
      type: "file",
      disableDeletion: true,
      updateIntervalSeconds: 30,
      allowUiUpdates: false,
      options: { path: mount, foldersFromFilesStructure: false },
    },
  ],
});
