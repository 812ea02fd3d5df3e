// Test helper: a dashboard's plugin targets and variable queries turned into
// gateway requests by the plugin's OWN pure mapping (src/plugin/src/request.ts),
// loaded at run time by path because the root TypeScript project cannot
// compile the plugin's sources. Template variables are substituted the way
// Grafana's getTemplateSrv().replace(text, scopedVars, "csv") does: the
// selected values joined by commas. Grafana itself cannot run here; this is
// the boundary between it and the plugin.
import { join } from "node:path";
import type { Query } from "../../../src/gateway/schemas.ts";

/** Keys of the plugin's KernelQuery (src/plugin/src/types.ts) plus Grafana's own. */
const KERNEL_QUERY_KEYS = new Set([
  "refId",
  "datasource",
  "hide",
  "queryType",
  "signal",
  "format",
  "timeline",
  "script",
  "pxl",
  "filters",
]);
const VARIABLE_QUERY_KEYS = new Set(["refId", "kind", "namespace", "pod"]);

type Interpolate = (text: string) => string;
interface RequestModule {
  toGatewayQuery(q: object, ctx: object): Query | undefined;
  annotationParams(q: object, from: number, to: number, interpolate: Interpolate): string;
  parseVariableQuery(q: object | string): { kind: string } | undefined;
  variablePath(q: object, interpolate: Interpolate): string;
}
interface ContractModule {
  QUERY_TYPES: readonly string[];
  VARIABLE_KINDS: readonly string[];
}
const SRC = join(import.meta.dirname, "../../../src/plugin/src");
const request = (await import(join(SRC, "request.ts"))) as RequestModule;
const contract = (await import(join(SRC, "contract.ts"))) as ContractModule;

/** getTemplateSrv().replace(text, {}, "csv"): "$v" / "${v}" → the selected values, comma-joined. */
export const csvInterpolate =
  (selected: ReadonlyMap<string, readonly string[]>): Interpolate =>
  (text) =>
    text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, a?: string, b?: string) => {
      const values = selected.get(a ?? b ?? "");
      return values ? values.join(",") : whole;
    });

/** The part of a target that is not the plugin's query model, if any. */
export function foreignKeys(target: object, variable = false): string[] {
  const known = variable ? VARIABLE_QUERY_KEYS : KERNEL_QUERY_KEYS;
  return Object.keys(target).filter((k) => !known.has(k));
}

export type PluginRequest =
  | { kind: "query"; query: Query }
  | { kind: "annotations"; path: string }
  | { kind: "none"; why: string };

/** What the plugin's query() sends to the gateway for this target over [from, to]. */
export function pluginRequest(
  target: object,
  from: number,
  to: number,
  interpolate: Interpolate,
): PluginRequest {
  const type = (target as { queryType?: unknown }).queryType;
  if (typeof type !== "string" || !contract.QUERY_TYPES.includes(type))
    return { kind: "none", why: `queryType ${JSON.stringify(type)} is not the plugin's` };
  if (type === "annotations")
    return {
      kind: "annotations",
      path: `/api/v1/annotations?${request.annotationParams(target, from, to, interpolate)}`,
    };
  // Grafana's interval for a panel ~1000 px wide: the range over the points, at least 1 s.
  const maxDataPoints = 1_000;
  const query = request.toGatewayQuery(target, {
    from,
    to,
    intervalMs: Math.max(1_000, Math.round((to - from) / maxDataPoints)),
    maxDataPoints,
    explore: false,
    interpolate,
  });
  return query ? { kind: "query", query } : { kind: "none", why: "the plugin sends nothing" };
}

/** The gateway path the plugin's metricFindQuery asks for this variable query. */
export function pluginVariablePath(query: object | string, interpolate: Interpolate) {
  const q = request.parseVariableQuery(query);
  if (!q || !contract.VARIABLE_KINDS.includes(q.kind)) return undefined;
  return request.variablePath(q, interpolate);
}
