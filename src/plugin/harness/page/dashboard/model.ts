// The part of Grafana's dashboard JSON (schemaVersion 42) the renderer reads,
// as @grafana/schema types it: panels with gridPos, targets, fieldConfig,
// options and transformations; query variables; the time range. Anything
// else in the file is ignored the way a dashboard page without that feature
// would ignore it — panel types are checked where panels are drawn.
import type { DataQuery, DataSourceRef } from "@grafana/schema";
import type { DataTransformerConfig, FieldConfigSource } from "@grafana/data";

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PanelModel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: GridPos;
  datasource?: DataSourceRef;
  targets: Array<DataQuery & Record<string, unknown>>;
  fieldConfig: FieldConfigSource;
  options: Record<string, unknown>;
  transformations?: DataTransformerConfig[];
  interval?: string;
  maxDataPoints?: number;
}

export interface VariableModel {
  type: string;
  name: string;
  label?: string;
  datasource?: DataSourceRef;
  query: unknown;
  multi?: boolean;
  includeAll?: boolean;
  regex?: string;
  sort?: number;
}

export interface DashboardModel {
  uid: string;
  title: string;
  timezone?: string;
  time: { from: string; to: string };
  templating: { list: VariableModel[] };
  panels: PanelModel[];
}
