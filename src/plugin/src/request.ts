// Panel query → gateway query. Pure functions (no Grafana runtime) so unit
// tests and the repo's contract test can check the exact bodies sent.
import {
  GATEWAY_QUERY_TYPES,
  NAME_FILTERS,
  PIXIE_SCRIPTS,
  SEVERITIES,
  SIGNALS,
  type GatewayFilters,
  type GatewayQuery,
  type GatewayQueryType,
  type VariableKind,
} from "./contract";
import type { KernelQuery, QueryFilters, VariableQuery } from "./types";

/**
 * The gateway's smallest step (its KG_MIN_INTERVAL default): a shorter one is
 * refused with a 400. Grafana computes intervals from range / panel width, which
 * for a few minutes on a wide panel is well under a second.
 */
export const MIN_INTERVAL_MS = 1000;

/** Substitutes template variables; multi-value variables come back comma-separated. */
export type Interpolate = (text: string) => string;

/** Values meaning "no filter": empty, a bare "*", or an unresolved All. */
const ANY = new Set(["", "*", "$__all", "All"]);

/** "a, b,{c,d}" → ["a","b","c","d"]; undefined when it means "any". */
export function splitNames(
  text: string | undefined,
  interpolate: Interpolate,
): string[] | undefined {
  if (text === undefined) {
    return undefined;
  }
  const names = interpolate(text)
    .replace(/[{}]/g, "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0 || names.some((n) => ANY.has(n))) {
    return undefined;
  }
  return [...new Set(names)];
}

export function toGatewayFilters(
  f: QueryFilters | undefined,
  interpolate: Interpolate,
): GatewayFilters | undefined {
  if (!f) {
    return undefined;
  }
  const out: GatewayFilters = {};
  for (const key of NAME_FILTERS) {
    const names = splitNames(f[key], interpolate);
    if (names) {
      out[key] = names;
    }
  }
  const signal = chosen(f.signal, SIGNALS, interpolate);
  if (signal) {
    out.signal = signal;
  }
  const severity = chosen(f.severity, SEVERITIES, interpolate);
  if (severity) {
    out.severity = severity;
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * A signal/severity list with its variables expanded; undefined when empty or
 * when a variable means "any". Values outside the gateway's enum (a variable
 * offering cpu-usage, say) are dropped rather than sent to be refused.
 */
function chosen<T extends string>(
  entries: readonly string[] | undefined,
  known: readonly T[],
  interpolate: Interpolate,
): T[] | undefined {
  if (!entries?.length) {
    return undefined;
  }
  const out = new Set<T>();
  for (const entry of entries) {
    const names = splitNames(entry, interpolate);
    if (!names) {
      return undefined;
    }
    for (const n of names) {
      if ((known as readonly string[]).includes(n)) {
        out.add(n as T);
      }
    }
  }
  return out.size ? [...out] : undefined;
}

export const isGatewayType = (t: string | undefined): t is GatewayQueryType =>
  (GATEWAY_QUERY_TYPES as readonly string[]).includes(t ?? "");

export interface RequestContext {
  from: number;
  to: number;
  intervalMs?: number;
  maxDataPoints?: number;
  /** Explore shows whispers as log lines unless the query says otherwise. */
  explore: boolean;
  interpolate: Interpolate;
}

/** The gateway query for one panel query; undefined for types the gateway does not run. */
export function toGatewayQuery(q: KernelQuery, ctx: RequestContext): GatewayQuery | undefined {
  const type = q.queryType ?? "signal";
  if (!isGatewayType(type)) {
    return undefined;
  }
  const out: GatewayQuery = {
    refId: q.refId,
    type,
    range: { from: Math.floor(ctx.from), to: Math.ceil(ctx.to) },
  };
  if (ctx.intervalMs && ctx.intervalMs >= 1) {
    out.intervalMs = Math.max(MIN_INTERVAL_MS, Math.round(ctx.intervalMs));
  }
  if (ctx.maxDataPoints && ctx.maxDataPoints >= 1) {
    out.maxDataPoints = Math.round(ctx.maxDataPoints);
  }
  const filters = toGatewayFilters(q.filters, ctx.interpolate);
  if (filters) {
    out.filters = filters;
  }
  switch (type) {
    case "signal":
      out.signal = q.signal ?? "cpu-throttling";
      break;
    case "whispers":
      out.format = q.format ?? (ctx.explore ? "logs" : "table");
      break;
    case "births":
      if (q.timeline) {
        out.timeline = true;
      }
      break;
    case "pixie": {
      // The gateway takes exactly one of the two: the user's PxL when written, else a name.
      const pxl = q.pxl?.trim() ? ctx.interpolate(q.pxl) : undefined;
      if (pxl) {
        out.pxl = pxl;
      } else {
        out.script = q.script ?? PIXIE_SCRIPTS[0];
      }
      break;
    }
    case "truth-vs-metrics":
      break;
  }
  return out;
}

/** Query string for GET /api/v1/annotations. */
export function annotationParams(
  q: KernelQuery,
  from: number,
  to: number,
  interpolate: Interpolate,
): string {
  const p = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)) });
  const f = toGatewayFilters(q.filters, interpolate) ?? {};
  for (const [key, values] of Object.entries(f)) {
    for (const v of values as string[]) {
      p.append(key, v);
    }
  }
  return p.toString();
}

/**
 * A variable query from what dashboards store: the editor's object, or a string
 * such as "namespaces" or "pods?namespace=$namespace" (easy to write by hand).
 */
export function parseVariableQuery(
  q: VariableQuery | string | undefined,
): VariableQuery | undefined {
  if (q === undefined) {
    return undefined;
  }
  if (typeof q !== "string") {
    return q;
  }
  const [kind = "", search = ""] = q.trim().split("?", 2);
  const params = new URLSearchParams(search);
  const out: VariableQuery = { refId: "variable", kind: kind.trim() as VariableKind };
  const ns = params.get("namespace");
  const pod = params.get("pod");
  if (ns) {
    out.namespace = ns;
  }
  if (pod) {
    out.pod = pod;
  }
  return out;
}

/** Path and query string for GET /api/v1/variables/{kind}. */
export function variablePath(q: VariableQuery, interpolate: Interpolate): string {
  const p = new URLSearchParams();
  for (const key of ["namespace", "pod"] as const) {
    for (const v of splitNames(q[key], interpolate) ?? []) {
      p.append(key, v);
    }
  }
  const qs = p.toString();
  return `/api/v1/variables/${encodeURIComponent(q.kind)}${qs ? `?${qs}` : ""}`;
}
