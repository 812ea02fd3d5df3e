// Small builders for Grafana dashboard JSON (schemaVersion 42, Grafana 13):
// panels laid out on the 24-column grid, targets in the kernel-gossip
// plugin's own query model (what Grafana hands its query()) and for
// Prometheus, and variables answered by the plugin's custom variable support.
// Every panel names its unit: the builder signatures make it mandatory.
import type { PlotSignal } from "../../gateway/signals.ts";
import { GATEWAY_DS, PROMETHEUS_DS, type DataSourceRef } from "../grafana/contract.ts";

export const SCHEMA_VERSION = 42;

/** A template variable reference as the plugin's filters take it. */
export type TemplateVariable = `$${string}`;

/**
 * The plugin's panel query, KernelQuery of src/plugin/src/types.ts (mirrored:
 * the root TypeScript project cannot compile the plugin's sources). Grafana's
 * `queryType` (the plugin maps it to the gateway's `type`); name filters are
 * text that may name variables, which getTemplateSrv() expands. The tests
 * in src/shared/grafana/ pass every target through the plugin's own request
 * mapping and the gateway, so a drift fails there (ADR 0048).
 */
export interface PluginQuery {
  refId: string;
  queryType: "signal" | "whispers" | "births" | "truth-vs-metrics" | "pixie" | "annotations";
  signal?: PlotSignal;
  format?: "table" | "logs";
  timeline?: boolean;
  script?: string;
  pxl?: string;
  filters?: PluginFilters;
}
export type PluginFilters = Partial<
  Record<"namespace" | "pod" | "container" | "node" | "cgroup", string>
> & {
  signal?: string[];
  severity?: string[];
};

export type GatewayTarget = PluginQuery & { datasource: typeof GATEWAY_DS };

export interface PromTarget {
  refId: string;
  datasource: typeof PROMETHEUS_DS;
  expr: string;
  legendFormat: string;
  range: boolean;
  instant: boolean;
  editorMode: "code";
  format?: "table" | "time_series";
}

export type Target = GatewayTarget | PromTarget;

export const gateway = (q: PluginQuery): GatewayTarget => ({
  ...q,
  datasource: GATEWAY_DS,
});

export const prom = (
  refId: string,
  expr: string,
  legendFormat: string,
  kind: "range" | "instant" = "range",
): PromTarget => ({
  refId,
  datasource: PROMETHEUS_DS,
  expr,
  legendFormat,
  range: kind === "range",
  instant: kind === "instant",
  editorMode: "code",
});

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Override {
  matcher: { id: "byName" | "byRegexp"; options: string };
  properties: { id: string; value: unknown }[];
}

export interface Panel {
  id: number;
  type: "timeseries" | "table" | "stat" | "bargauge" | "text";
  title: string;
  description: string;
  gridPos: GridPos;
  datasource: DataSourceRef;
  targets: Target[];
  fieldConfig: {
    defaults: { unit: string; decimals?: number; min?: number; custom?: Record<string, unknown> };
    overrides: Override[];
  };
  options: Record<string, unknown>;
  transformations?: { id: string; options: Record<string, unknown> }[];
}

export interface PanelSpec {
  title: string;
  description: string;
  /** Grafana unit id of the panel's values (fields may override by name). */
  unit: string;
  targets: Target[];
  w: number;
  h: number;
  overrides?: Override[];
  options?: Record<string, unknown>;
  transformations?: Panel["transformations"];
  min?: number;
}

/** Unit override for one field (table columns, series). */
export const unitOf = (name: string, unit: string, byRegexp = false): Override => ({
  matcher: { id: byRegexp ? "byRegexp" : "byName", options: name },
  properties: [{ id: "unit", value: unit }],
});

const dsOf = (targets: Target[]): DataSourceRef => {
  const first = targets[0]?.datasource;
  if (!first) throw new Error("a panel needs at least one target");
  if (targets.some((t) => t.datasource.uid !== first.uid))
    throw new Error("one data source per panel");
  return first;
};

/** Lays panels out left to right, wrapping at 24 columns; ids in order. */
export function layout(rows: ((id: number, pos: GridPos) => Panel)[][]): Panel[] {
  const out: Panel[] = [];
  let y = 0;
  for (const row of rows) {
    let x = 0;
    let tallest = 0;
    for (const make of row) {
      const p = make(out.length + 1, { x, y, w: 0, h: 0 });
      p.gridPos = { x, y, w: p.gridPos.w, h: p.gridPos.h };
      x += p.gridPos.w;
      tallest = Math.max(tallest, p.gridPos.h);
      out.push(p);
    }
    y += tallest;
  }
  return out;
}

const panel =
  (type: Panel["type"], base: Record<string, unknown>, custom?: Record<string, unknown>) =>
  (s: PanelSpec) =>
  (id: number, pos: GridPos): Panel => ({
    id,
    type,
    title: s.title,
    description: s.description,
    gridPos: { ...pos, w: s.w, h: s.h },
    datasource: dsOf(s.targets),
    targets: s.targets,
    fieldConfig: {
      defaults: {
        unit: s.unit,
        ...(s.min !== undefined ? { min: s.min } : {}),
        ...(custom ? { custom } : {}),
      },
      overrides: s.overrides ?? [],
    },
    options: { ...base, ...s.options },
    ...(s.transformations ? { transformations: s.transformations } : {}),
  });

export const timeseries = panel(
  "timeseries",
  { legend: { displayMode: "table", placement: "bottom", calcs: ["mean", "max", "lastNotNull"] } },
  { drawStyle: "line", lineWidth: 1, fillOpacity: 10, spanNulls: false, showPoints: "never" },
);
export const table = panel("table", { showHeader: true, cellHeight: "sm" });
export const stat = panel("stat", {
  reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
  colorMode: "value",
  graphMode: "none",
  textMode: "value_and_name",
});
export const bargauge = panel("bargauge", {
  reduceOptions: { calcs: ["lastNotNull"], fields: "", values: true },
  orientation: "horizontal",
  displayMode: "basic",
});

/** The plugin variable kinds: GET /api/v1/variables/{kind} of the gateway. */
export type VariableKind = "namespaces" | "pods" | "containers" | "nodes" | "signals";

/** The plugin's VariableQuery (src/plugin/src/types.ts, mirrored): a kind narrowed by variables. */
export interface PluginVariableQuery {
  refId: string;
  kind: VariableKind;
  namespace?: string;
  pod?: string;
}

export interface Variable {
  type: "query";
  name: string;
  label: string;
  datasource: typeof GATEWAY_DS;
  /** The plugin's variable query object (its custom variable support stores this). */
  query: PluginVariableQuery;
  /** The same as text, "<kind>?namespace=$namespace" (what Grafana's variable list shows). */
  definition: string;
  refresh: 2;
  multi: boolean;
  includeAll: boolean;
  regex: string;
  sort: 1;
  current: Record<string, never>;
  options: never[];
}

/**
 * A variable from the plugin's metricFindQuery. `scope` narrows by other
 * variables (pods of the selected namespaces); `regex` filters the values.
 */
export function variable(
  name: string,
  label: string,
  kind: VariableKind,
  opts: {
    multi?: boolean;
    scope?: Partial<Record<"namespace" | "pod", TemplateVariable>>;
    regex?: string;
  } = {},
): Variable {
  const scope = opts.scope ?? {};
  const params = Object.entries(scope)
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const definition = params ? `${kind}?${params}` : kind;
  const multi = opts.multi ?? true;
  return {
    type: "query",
    name,
    label,
    datasource: GATEWAY_DS,
    query: { refId: "variable", kind, ...scope },
    definition,
    refresh: 2, // on time range change: workloads come and go
    multi,
    includeAll: multi,
    regex: opts.regex ?? "",
    sort: 1,
    current: {},
    options: [],
  };
}

/** The namespace variable and the pod variable scoped to it, as every dashboard starts. */
export function namespaceAndPod(opts: { multi?: boolean } = {}): Variable[] {
  return [
    variable("namespace", "Namespace", "namespaces", opts),
    variable("pod", "Pod", "pods", { ...opts, scope: { namespace: "$namespace" } }),
  ];
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: Record<string, unknown>[] };
  time: { from: string; to: string };
  refresh: string;
}

/** The whole dashboard JSON, with Grafana's built-in annotations and the whisper annotations. */
export function dashboard(d: Dashboard, filters: PluginFilters) {
  return {
    __generated: "GENERATED by src/shared/dashboards/ — do not edit; run `npm run gen`.",
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ["kernel-gossip", ...d.tags],
    editable: false,
    graphTooltip: 1,
    timezone: "browser",
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    time: d.time,
    refresh: d.refresh,
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    templating: d.templating,
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
          name: "Annotations & Alerts",
          type: "dashboard",
        },
        {
          datasource: GATEWAY_DS,
          enable: true,
          hide: false,
          iconColor: "orange",
          name: "Kernel whispers",
          target: {
            refId: "Anno",
            queryType: "annotations",
            ...(Object.keys(filters).length ? { filters } : {}),
          } satisfies PluginQuery,
        },
        ...d.annotations.list,
      ],
    },
    panels: d.panels,
  };
}
