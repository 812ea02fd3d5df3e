// What the dashboard renderer page (page/dashboard/) reports after drawing a
// dashboard, read by the node side (dashboard-render.ts, the render test, the
// screenshot script). Plain types, no imports: both TypeScript projects (the
// repository's and the plugin workspace's, which type-checks the page) read it.

export interface VariableReport {
  name: string;
  label: string;
  multi: boolean;
  includeAll: boolean;
  options: string[];
  /** Selected values; ["$__all"] when All is selected. */
  current: string[];
}

export interface FieldReport {
  name: string;
  displayName: string;
  type: string;
  unit?: string;
  labels?: Record<string, string>;
}

export interface FrameReport {
  refId?: string;
  name?: string;
  rows: number;
  fields: FieldReport[];
}

export interface PanelReport {
  id: number;
  title: string;
  type: string;
  rect: { left: number; top: number; width: number; height: number };
  /** What went to the data sources: gateway request bodies and PromQL, after interpolation. */
  sent: string[];
  /** Query errors as the panel shows them (its error badge). */
  errors: string[];
  /** Data this panel type cannot draw as configured; overrides or options that match nothing. */
  problems: string[];
  /** Frames after transformations and field config. */
  frames: FrameReport[];
  expected: {
    names: string[];
    namesOnScreen: number;
    values: Array<{ what: string; anyOf: string[]; when?: string }>;
    units: Array<{ field: string; unit?: string }>;
  };
  /** Read from the drawn DOM. */
  drawn: {
    /** The text a viewer can see: nothing scrolled out of a legend or cut off at an edge. */
    text: string;
    /** The centred message a panel shows instead of data ("No data", "Data is missing a time field"). */
    dataMessage?: string;
    /** PanelChrome's status badge (Grafana's error corner). */
    statusBadge: boolean;
  };
  renderError?: string;
}

export interface DashboardReport {
  file: string;
  uid: string;
  title: string;
  range: { from: number; to: number };
  variables: VariableReport[];
  panels: PanelReport[];
  /** A failure before any panel could be drawn (bad dashboard, data source, variable query). */
  error?: string;
}

export interface ExploreReport {
  query: unknown;
  range: { from: number; to: number };
  rows: number;
  errors: string[];
  drawn: { text: string };
  error?: string;
}
