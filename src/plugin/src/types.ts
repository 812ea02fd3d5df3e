// The plugin's models: the query a panel stores, the variable query, and the
// data source settings. Grafana calls the query's kind `queryType`; on the wire
// to the gateway it is `type` (request.ts maps one to the other).
import type { DataSourceJsonData } from "@grafana/data";
import type { DataQuery } from "@grafana/schema";
import type {
  NameFilter,
  PixieScript,
  PlotSignal,
  QueryType,
  Severity,
  Signal,
  VariableKind,
  WhisperFormat,
} from "./contract";

export * from "./contract";

/** A template variable reference as dashboards store it: "$signal". */
export type TemplateVariable = `$${string}`;

/**
 * Filters as the editor keeps them. Name filters are free text so they can hold
 * template variables ("$namespace", "checkout,cart"); they become arrays only
 * after getTemplateSrv().replace(). Signal and severity lists are the editor's
 * choices, or a variable a dashboard names ("$signal").
 */
export type QueryFilters = Partial<Record<NameFilter, string>> & {
  signal?: Array<Signal | TemplateVariable>;
  severity?: Array<Severity | TemplateVariable>;
};

export interface KernelQuery extends DataQuery {
  queryType?: QueryType;
  /** signal queries: what to plot. */
  signal?: PlotSignal;
  /** whispers: table (default in dashboards) or logs (default in Explore). */
  format?: WhisperFormat;
  /** births: also one timeline frame per certificate. */
  timeline?: boolean;
  /** pixie: a shipped script by name (the gateway answers 501 until Pixie is configured) … */
  script?: PixieScript;
  /** … or the user's own PxL, sent instead of the name when not blank (gateway must allow it). */
  pxl?: string;
  filters?: QueryFilters;
}

export const DEFAULT_QUERY: Partial<KernelQuery> = {
  queryType: "signal",
  signal: "cpu-throttling",
};

/** A dashboard variable's query: which list, narrowed by namespace/pod (variables allowed). */
export interface VariableQuery extends DataQuery {
  kind: VariableKind;
  namespace?: string;
  pod?: string;
}

/** Settings stored in the data source (visible to the browser). */
export interface KernelOptions extends DataSourceJsonData {
  /** Base URL of the gateway as Grafana's server reaches it, e.g. http://kernel-gossip-gateway:8080. */
  gatewayUrl?: string;
}

/** Settings only Grafana's server sees: the proxy route puts the token in the Authorization header. */
export interface KernelSecureOptions {
  apiToken?: string;
}
