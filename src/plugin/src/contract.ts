// The gateway's query vocabulary, as the plugin sends it. Kept free of imports
// so the repo's contract test (../contract.test.ts) can load it beside the
// gateway's own schemas and fail when the two drift apart.

/** Query types of POST /api/v1/query (the gateway's `type`). */
export const GATEWAY_QUERY_TYPES = [
  "signal",
  "whispers",
  "births",
  "truth-vs-metrics",
  "pixie",
] as const;
export type GatewayQueryType = (typeof GATEWAY_QUERY_TYPES)[number];

/** The plugin adds one type of its own: whispers as annotations (GET /api/v1/annotations). */
export const QUERY_TYPES = [...GATEWAY_QUERY_TYPES, "annotations"] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

/** Kernel signals a whisper is about (filters.signal). */
export const SIGNALS = [
  "cpu-throttling",
  "runqueue-delay",
  "oom-kill",
  "memory-pressure",
  "packet-drops",
  "tcp-retransmits",
  "tcp-resets",
] as const;
export type Signal = (typeof SIGNALS)[number];

/** Signals a `signal` query can plot: the whisper signals plus CPU usage. */
export const PLOT_SIGNALS = [...SIGNALS, "cpu-usage"] as const;
export type PlotSignal = (typeof PLOT_SIGNALS)[number];

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const WHISPER_FORMATS = ["table", "logs"] as const;
export type WhisperFormat = (typeof WHISPER_FORMATS)[number];

/** Name filters: free text in the editor (template variables allowed), arrays on the wire. */
export const NAME_FILTERS = ["namespace", "pod", "container", "node", "cgroup"] as const;
export type NameFilter = (typeof NAME_FILTERS)[number];

/**
 * Pixie scripts the gateway ships and runs by name (src/pixie/scripts/manifest.json;
 * harness/contract.test.ts fails when the two lists differ).
 */
export const PIXIE_SCRIPTS = [
  "pod-network",
  "pod-tcp-retransmits",
  "pod-process",
  "service-http",
  "clusters",
  "pods",
] as const;
export type PixieScript = (typeof PIXIE_SCRIPTS)[number];

/** GET /api/v1/variables/{kind}. */
export const VARIABLE_KINDS = ["namespaces", "pods", "containers", "nodes", "signals"] as const;
export type VariableKind = (typeof VARIABLE_KINDS)[number];

/** The gateway's filters object: every key optional, values are "any of". */
export interface GatewayFilters {
  namespace?: string[];
  pod?: string[];
  container?: string[];
  node?: string[];
  /** cgroup paths, for workloads that are not pods. */
  cgroup?: string[];
  signal?: Signal[];
  severity?: Severity[];
}

/** One query of POST /api/v1/query, as the gateway's schema accepts it. */
export interface GatewayQuery {
  refId: string;
  type: GatewayQueryType;
  range: { from: number; to: number };
  intervalMs?: number;
  maxDataPoints?: number;
  filters?: GatewayFilters;
  signal?: PlotSignal;
  format?: WhisperFormat;
  timeline?: boolean;
  /** pixie: a shipped script by name … */
  script?: string;
  /** … or the user's own PxL (the gateway runs it only with KG_PIXIE_ALLOW_USER_SCRIPTS=true). */
  pxl?: string;
}

/** A frame as the gateway sends it (Grafana's data-frame JSON). */
export interface GatewayFrame {
  name?: string;
  refId: string;
  meta?: Record<string, unknown>;
  fields: Array<{
    name: string;
    type: "time" | "number" | "string" | "boolean" | "other";
    config: Record<string, unknown>;
    labels?: Record<string, string>;
    values: unknown[];
  }>;
  length: number;
}

export interface GatewayResult {
  status: number;
  frames: GatewayFrame[];
  error?: string;
  source?: string;
}

export interface GatewayQueryResponse {
  results: Record<string, GatewayResult>;
}

export interface GatewayAnnotation {
  id: string;
  time: number;
  timeEnd: number;
  title: string;
  text: string;
  tags: string[];
}

export interface GatewayReadiness {
  ready: boolean;
  sources: Array<{
    name: string;
    state: "ready" | "starting" | "degraded" | "disabled";
    message?: string;
  }>;
}

/** Error body of a 400/401 from the gateway. */
export interface GatewayError {
  statusCode: number;
  error: string;
  message: string;
  field?: string;
}

/** plugin.json's proxy route: the data source's URL + this prefix reaches the gateway. */
export const ROUTE_PATH = "gateway";
