// SUBSTITUTE for Grafana's TemplateSrv on the dashboard renderer page: the
// dashboard's variables with their current values, and the interpolation
// Grafana documents — `$var`, `${var}`, `${var:format}`, `[[var]]`; scoped
// variables first; "All" expands to every option (no allValue is used by the
// shipped dashboards); an unknown variable is left as written, as Grafana does.
// Only the formats the plugin and the Prometheus substitute use exist here;
// any other format is an error, not a silent guess. ADR 0080.
import type { ScopedVars } from "@grafana/data";
import { setTemplateSrv, type TemplateSrv } from "@grafana/runtime";

export const ALL = "$__all";

/** A resolved dashboard variable (what Grafana's variable state holds). */
export interface VariableState {
  name: string;
  label: string;
  multi: boolean;
  includeAll: boolean;
  /** Values offered by the variable query, after regex and sort. */
  options: string[];
  /** Selected values; [ALL] when "All" is selected. */
  current: string[];
}

export type FormatFn = (value: string | string[], variable: VariableState) => string;

const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}/g;

/** What a variable stands for now: All → every option. */
export function currentValues(v: VariableState): string[] {
  return v.current.includes(ALL) ? v.options : v.current;
}

function format(value: string | string[], fmt: string | FormatFn | undefined, v: VariableState) {
  if (typeof fmt === "function") {
    return fmt(value, v);
  }
  const list = Array.isArray(value) ? value : [value];
  switch (fmt) {
    case "csv":
      return list.join(",");
    case "pipe":
      return list.join("|");
    case "raw":
      return list.join(",");
    case undefined:
      // Grafana's default for several values is its "glob" format.
      return list.length === 1 ? (list[0] ?? "") : `{${list.join(",")}}`;
    default:
      throw new Error(`renderer TemplateSrv: format "${fmt}" is not implemented`);
  }
}

export class DashboardTemplateSrv implements TemplateSrv {
  private readonly vars = new Map<string, VariableState>();

  set(v: VariableState) {
    this.vars.set(v.name, v);
  }

  list(): VariableState[] {
    return [...this.vars.values()];
  }

  getVariables() {
    // The plugin never lists variables; Grafana's typed models are not rebuilt here.
    return [];
  }

  containsTemplate(target?: string) {
    return [...(target ?? "").matchAll(VARIABLE)].some((m) => {
      const name = m[1] ?? m[2] ?? m[4] ?? "";
      return this.vars.has(name);
    });
  }

  updateTimeRange() {}

  replace(target?: string, scopedVars?: ScopedVars, fmt?: string | FormatFn): string {
    return (target ?? "").replace(
      VARIABLE,
      (whole, a?: string, b?: string, bFmt?: string, c?: string, cFmt?: string) => {
        const name = a ?? b ?? c ?? "";
        const scoped = scopedVars?.[name];
        if (scoped) {
          const value = scoped.value as string | string[];
          return format(value, (bFmt ?? cFmt ?? fmt) as string | FormatFn | undefined, {
            name,
            label: name,
            multi: Array.isArray(value),
            includeAll: false,
            options: [],
            current: Array.isArray(value) ? value : [String(value)],
          });
        }
        const v = this.vars.get(name);
        if (!v) {
          return whole;
        }
        const values = currentValues(v);
        return format(
          v.multi || values.length !== 1 ? values : (values[0] ?? ""),
          (bFmt ?? cFmt ?? fmt) as string | FormatFn | undefined,
          v,
        );
      },
    );
  }
}

export const templateSrv = new DashboardTemplateSrv();

export function installTemplateSrv() {
  setTemplateSrv(templateSrv);
}
