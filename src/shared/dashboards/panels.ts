// Small builders for Grafana dashboard JSON (schemaVersion 42, Grafana 13):
// panels laid out on the 24-column grid, targets in the kernel-gossip
// plugin's own query model (what Grafana hands its query()) and for
// Prometheus, and variables answered by the plugin's custom variable support.
// Every panel names its unit: the builder signatures make it mandatory.
import type { PlotSignal } from "../signals/catalogue.ts";
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

/** Grafana's thresholds: a base colour (value null) and steps upwards. */
export interface Thresholds {
  mode: "absolute" | "percentage";
  steps: { color: string; value: number | null }[];
}

/** One colour for every value: what a count or a duration needs (Grafana's default is green, red from 80). */
export const oneColor = (color: string): Thresholds => ({
  mode: "absolute",
  steps: [{ color, value: null }],
});

export interface Panel {
  id: number;
  type: "timeseries" | "table" | "stat" | "bargauge" | "text";
  title: string;
  description: string;
  gridPos: GridPos;
  datasource: DataSourceRef;
  targets: Target[];
  fieldConfig: {
    defaults: {
      unit: string;
      decimals?: number;
      min?: number;
      max?: number;
      thresholds?: Thresholds;
      color?: { mode: string; fixedColor?: string };
      custom?: Record<string, unknown>;
    };
    overrides: Override[];
  };
  options: Record<string, unknown>;
  /** Grafana transformations; `filter` applies one to the frames it matches only. */
  transformations?: {
    id: string;
    options: Record<string, unknown>;
    filter?: { id: string; options: unknown };
  }[];
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
  max?: number;
  decimals?: number;
  thresholds?: Thresholds;
  color?: { mode: string; fixedColor?: string };
  /** Panel-type field options (merged over the builder's). */
  custom?: Record<string, unknown>;
}

/**
 * Unit override for one field (table columns, series). A regexp is Grafana's
 * byRegexp matcher: written "/…/" it matches anywhere, otherwise Grafana
 * anchors it at both ends (stringToJsRegex).
 */
export const unitOf = (name: string, unit: string, byRegexp = false): Override => ({
  matcher: { id: byRegexp ? "byRegexp" : "byName", options: name },
  properties: [{ id: "unit", value: unit }],
});

/** Field properties by name: a column's or series' display name, width, thresholds… */
export const fieldOf = (name: string, props: Record<string, unknown>): Override => ({
  matcher: { id: "byName", options: name },
  properties: Object.entries(props).map(([id, value]) => ({ id, value })),
});

/**
 * Only these fields, in this order, with these headers: Grafana's "Filter fields
 * by name" then "Organize fields" transformations. Fields the source adds later
 * stay out instead of pushing the chosen ones off the panel.
 */
export function columns(
  keep: [field: string, header?: string][],
  filter?: { id: string; options: unknown },
) {
  const only = filter ? { filter } : {};
  return [
    { id: "filterFieldsByName", ...only, options: { include: { names: keep.map(([f]) => f) } } },
    {
      id: "organize",
      ...only,
      options: {
        excludeByName: {},
        includeByName: {},
        indexByName: Object.fromEntries(keep.map(([f], i) => [f, i])),
        renameByName: Object.fromEntries(keep.filter(([, h]) => h).map(([f, h]) => [f, h])),
      },
    },
  ];
}

const dsOf = (targets: Target[]): DataSourceRef => {
  const first = targets[0]?.datasource;
  if (!first) throw new Error("a panel needs at least one target");
  if (targets.some((t) => t.datasource.uid !== first.uid))
    throw new Error("one data source per panel");
  return first;
};

type MakePanel = (id: number, pos: GridPos) => Panel;

/** Panels stacked top to bottom in one cell of a layout row (as wide as the widest). */
export const stack = (...panels: MakePanel[]): MakePanel[] => panels;

/**
 * Lays rows out top to bottom, each row's cells left to right on the 24-column
 * grid; a cell is a panel or a stack() of panels. Ids in order.
 */
export function layout(rows: (MakePanel | MakePanel[])[][]): Panel[] {
  const out: Panel[] = [];
  let y = 0;
  for (const row of rows) {
    let x = 0;
    let tallest = 0;
    for (const cell of row) {
      let top = y;
      let widest = 0;
      for (const make of Array.isArray(cell) ? cell : [cell]) {
        const p = make(out.length + 1, { x, y: top, w: 0, h: 0 });
        p.gridPos = { x, y: top, w: p.gridPos.w, h: p.gridPos.h };
        top += p.gridPos.h;
        widest = Math.max(widest, p.gridPos.w);
        out.push(p);
      }
      x += widest;
      tallest = Math.max(tallest, top - y);
    }
    if (x > 24) throw new Error(`a dashboard row is ${x} columns wide (Grafana's grid has 24)`);
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
        ...(s.max !== undefined ? { max: s.max } : {}),
        ...(s.decimals !== undefined ? { decimals: s.decimals } : {}),
        ...(s.thresholds ? { thresholds: s.thresholds } : {}),
        ...(s.color ? { color: s.color } : {}),
        ...(custom || s.custom ? { custom: { ...custom, ...s.custom } } : {}),
      },
      overrides: s.overrides ?? [],
    },
    options: { ...base, ...s.options },
    ...(s.transformations ? { transformations: s.transformations } : {}),
  });

export const timeseries = panel(
  "timeseries",
  {
    // Biggest peak first: when a legend has more rows than room, the ones that matter show.
    legend: {
      displayMode: "table",
      placement: "bottom",
      calcs: ["mean", "max", "lastNotNull"],
      sortBy: "Max",
      sortDesc: true,
    },
  },
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
