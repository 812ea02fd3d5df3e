// Resolves a dashboard's query variables the way Grafana's dashboard does on
// load, in order (a later variable's query may name an earlier one): the
// variable's data source answers — for the plugin, its OWN custom variable
// support (`datasource.variables.query`), else `metricFindQuery` — then the
// regex filter (first capture group as value when there is one), the sort,
// "All" first when includeAll. The selection is what a Grafana URL's
// `var-<name>=` asks for (checked against the options), else All when the
// variable includes it, else the first option. ADR 0080.
import {
  CoreApp,
  VariableSupportType,
  dateTime,
  type DataQueryRequest,
  type MetricFindValue,
  type TimeRange,
} from "@grafana/data";
import { lastValueFrom } from "rxjs";
import { dataSourceFor, type DataSources } from "./datasources/registry";
import type { VariableModel } from "./model";
import { ALL, templateSrv, type VariableState } from "./template-srv";

function regexFilter(regex: string | undefined): ((v: string) => string | undefined) | undefined {
  if (!regex) {
    return undefined;
  }
  const m = /^\/(.*)\/([a-z]*)$/.exec(regex);
  const re = m ? new RegExp(m[1] ?? "", m[2]) : new RegExp(regex);
  return (v) => {
    const hit = re.exec(v);
    if (!hit) {
      return undefined;
    }
    return hit[1] ?? v;
  };
}

function sortValues(values: string[], sort: number | undefined): string[] {
  const out = [...values];
  // Grafana's sort ids: 1/2 alphabetical asc/desc, 3/4 numerical asc/desc.
  if (sort === 1 || sort === 2) {
    out.sort((a, b) => a.localeCompare(b));
  } else if (sort === 3 || sort === 4) {
    out.sort((a, b) => Number(a) - Number(b));
  }
  if (sort === 2 || sort === 4) {
    out.reverse();
  }
  return out;
}

async function findValues(
  v: VariableModel,
  sources: DataSources,
  range: TimeRange,
): Promise<MetricFindValue[]> {
  const ds = dataSourceFor(sources, v.datasource?.uid);
  if (
    ds.variables &&
    ds.variables.getType() === VariableSupportType.Custom &&
    "query" in ds.variables
  ) {
    const request = {
      app: CoreApp.Dashboard,
      requestId: `variable-${v.name}`,
      range,
      interval: "15s",
      intervalMs: 15_000,
      targets: [v.query],
      scopedVars: {},
      timezone: "utc",
      startTime: Date.now(),
    } as unknown as DataQueryRequest;
    const support = ds.variables as unknown as {
      query: (r: DataQueryRequest) => Parameters<typeof lastValueFrom>[0];
    };
    const res = (await lastValueFrom(support.query(request))) as {
      data: MetricFindValue[];
      error?: { message?: string };
    };
    if (res.error) {
      throw new Error(res.error.message ?? "variable query failed");
    }
    return res.data;
  }
  if (!ds.metricFindQuery) {
    throw new Error(`data source ${ds.uid} has no variable support`);
  }
  return ds.metricFindQuery(v.query, { range });
}

/** Resolves every variable in order into the template service; returns their states. */
export async function resolveVariables(
  list: VariableModel[],
  sources: DataSources,
  range: TimeRange,
  selected: Record<string, string[]>,
): Promise<VariableState[]> {
  const out: VariableState[] = [];
  for (const v of list) {
    if (v.type !== "query") {
      throw new Error(`variable $${v.name}: type "${v.type}" is not supported by the renderer`);
    }
    const filter = regexFilter(v.regex);
    const found = await findValues(v, sources, range);
    const values = new Set<string>();
    for (const f of found) {
      const raw = String(f.value ?? f.text);
      const kept = filter ? filter(raw) : raw;
      if (kept !== undefined) {
        values.add(kept);
      }
    }
    const options = sortValues([...values], v.sort);
    const state: VariableState = {
      name: v.name,
      label: v.label ?? v.name,
      multi: v.multi === true,
      includeAll: v.includeAll === true,
      options,
      current: [],
    };
    const wanted = selected[v.name];
    if (wanted?.length) {
      const all = wanted.includes(ALL) || wanted.includes("All");
      const unknown = wanted.filter((w) => !options.includes(w) && !(all && state.includeAll));
      if (unknown.length) {
        throw new Error(
          `variable $${v.name}: ${unknown.join(", ")} not among its values (${options.join(", ") || "none"})`,
        );
      }
      if (!state.multi && !all && wanted.length > 1) {
        throw new Error(`variable $${v.name} takes one value, asked for ${wanted.join(", ")}`);
      }
      state.current = all ? [ALL] : wanted;
    } else if (state.includeAll) {
      state.current = [ALL];
    } else {
      state.current = options.slice(0, 1);
    }
    templateSrv.set(state);
    out.push(state);
  }
  return out;
}

export const rangeOf = (from: number, to: number): TimeRange => ({
  from: dateTime(from),
  to: dateTime(to),
  raw: { from: dateTime(from), to: dateTime(to) },
});
