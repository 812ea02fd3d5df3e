// The renderer's data sources, by uid, built from the provisioned data-source
// file (provisioning/datasources/, read by the renderer server, secrets kept
// there): the kernel-gossip type is the BUILT PLUGIN's own DataSource class
// (dist/module.js, as Grafana instantiates it), Prometheus is the substitute
// in ./prometheus. Requests go to /api/datasources/proxy/uid/<uid>/…, the
// server's stand-in for Grafana's proxy. Any other type is an error. ADR 0080.
import type { DataSourceApi, DataSourceInstanceSettings, DataSourcePlugin } from "@grafana/data";
import { PrometheusSubstitute, type PromOptions } from "./prometheus";

export interface ProvisionedDataSource {
  uid: string;
  type: string;
  name: string;
  jsonData: Record<string, unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDataSource = DataSourceApi<any, any>;

export type DataSources = Map<string, AnyDataSource>;

export function buildDataSources(
  provisioned: ProvisionedDataSource[],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plugin: DataSourcePlugin<any, any>,
  pluginType: string,
): DataSources {
  const out: DataSources = new Map();
  for (const p of provisioned) {
    const settings = {
      id: out.size + 1,
      uid: p.uid,
      type: p.type,
      name: p.name,
      access: "proxy",
      url: `/api/datasources/proxy/uid/${p.uid}`,
      jsonData: p.jsonData,
      meta: { id: p.type },
      readOnly: true,
    } as unknown as DataSourceInstanceSettings;
    if (p.type === pluginType) {
      out.set(p.uid, new plugin.DataSourceClass(settings));
    } else if (p.type === "prometheus") {
      out.set(p.uid, new PrometheusSubstitute(settings as DataSourceInstanceSettings<PromOptions>));
    } else {
      throw new Error(`renderer: data source type "${p.type}" (${p.uid}) is not available`);
    }
  }
  return out;
}

export function dataSourceFor(sources: DataSources, uid: string | undefined | null): AnyDataSource {
  const ds = uid ? sources.get(uid) : undefined;
  if (!ds) {
    throw new Error(`no provisioned data source with uid "${uid ?? ""}"`);
  }
  return ds;
}
