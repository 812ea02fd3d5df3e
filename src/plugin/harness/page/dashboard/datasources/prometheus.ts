// SUBSTITUTE for Grafana's Prometheus data source (its frontend and the Go
// backend behind /api/ds/query), which cannot run here. It asks the REAL
// Prometheus through the renderer server's stand-in for Grafana's data-source
// proxy, doing what Grafana documents for a Prometheus target:
// - step = max(the panel's interval, the data source's scrape interval
//   `jsonData.timeInterval`), range start and end aligned down to the step;
// - $__interval = step, $__rate_interval = max(step + scrape, 4 × scrape),
//   $__range = the range in seconds; then dashboard variables, multi-values
//   as `(a|b)` with regex metacharacters escaped (a single-value variable
//   without All is only quote-escaped);
// - a range query gives one frame per series (Time, Value with the labels;
//   `legendFormat` with {{label}} becomes the series' display name), an
//   instant query the same with one row, `format: "table"` one frame with
//   Time, one column per label, Value.
// Errors come back per target, as Grafana shows them on the panel. ADR 0080.
import {
  DataSourceApi,
  FieldType,
  createDataFrame,
  rangeUtil,
  type DataFrame,
  type DataQueryError,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type DataSourceJsonData,
} from "@grafana/data";
import type { DataQuery } from "@grafana/schema";
import { requests } from "../../grafana-substitutes";
import { templateSrv, type VariableState } from "../template-srv";

export interface PromQuery extends DataQuery {
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  format?: "time_series" | "table";
}

export interface PromOptions extends DataSourceJsonData {
  timeInterval?: string;
}

interface PromSample {
  metric: Record<string, string>;
  values?: Array<[number, string]>;
  value?: [number, string];
}
interface PromAnswer {
  status: "success" | "error";
  error?: string;
  data?: { resultType: string; result: PromSample[] };
}

const specialRegex = (v: string) => v.replace(/[\\^$*+?.()|[\]{}'"]/g, "\\$&");
const quoteOnly = (v: string) => v.replace(/\\/g, "\\\\").replace(/'/g, "\\'");

/** How Grafana's Prometheus data source puts a variable's value into PromQL. */
export function interpolateQueryExpr(value: string | string[], v: VariableState): string {
  if (!v.multi && !v.includeAll) {
    return Array.isArray(value) ? value.map(quoteOnly).join("|") : quoteOnly(value);
  }
  const list = (Array.isArray(value) ? value : [value]).map(specialRegex);
  return list.length === 1 ? (list[0] ?? "") : `(${list.join("|")})`;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

export function legendName(format: string | undefined, labels: Record<string, string>) {
  if (!format) {
    return undefined;
  }
  return format.replace(/\{\{\s*(.+?)\s*\}\}/g, (_m, key: string) => labels[key] ?? "");
}

export class PrometheusSubstitute extends DataSourceApi<PromQuery, PromOptions> {
  private readonly base: string;
  private readonly scrapeMs: number;

  constructor(settings: DataSourceInstanceSettings<PromOptions>) {
    super(settings);
    this.base = settings.url ?? "";
    this.scrapeMs = rangeUtil.intervalToMs(settings.jsonData.timeInterval ?? "15s");
  }

  async testDatasource() {
    return { status: "success", message: "renderer substitute" };
  }

  async query(request: DataQueryRequest<PromQuery>): Promise<DataQueryResponse> {
    const data: DataFrame[] = [];
    const errors: DataQueryError[] = [];
    for (const t of request.targets.filter((x) => !x.hide)) {
      try {
        data.push(...(await this.run(t, request)));
      } catch (err) {
        errors.push({ refId: t.refId, message: err instanceof Error ? err.message : String(err) });
      }
    }
    return errors.length ? { data, errors, error: errors[0] } : { data };
  }

  /** The PromQL Grafana would send for this target and request (macros, then variables). */
  expression(t: PromQuery, request: DataQueryRequest<PromQuery>, stepMs: number): string {
    const from = request.range.from.valueOf();
    const to = request.range.to.valueOf();
    const withMacros = t.expr
      .replace(/\$__rate_interval/g, seconds(Math.max(stepMs + this.scrapeMs, 4 * this.scrapeMs)))
      .replace(/\$__interval_ms/g, String(stepMs))
      .replace(/\$__interval/g, seconds(stepMs))
      .replace(/\$__range_ms/g, String(to - from))
      .replace(/\$__range_s/g, String(Math.round((to - from) / 1000)))
      .replace(/\$__range/g, seconds(to - from));
    return templateSrv.replace(withMacros, request.scopedVars, interpolateQueryExpr);
  }

  private async run(t: PromQuery, request: DataQueryRequest<PromQuery>): Promise<DataFrame[]> {
    const stepMs = Math.ceil(Math.max(request.intervalMs, this.scrapeMs) / 1000) * 1000;
    const expr = this.expression(t, request, stepMs);
    const from = request.range.from.valueOf();
    const to = request.range.to.valueOf();
    const instant = t.instant === true && t.range !== true;
    const params = new URLSearchParams({ query: expr });
    if (instant) {
      params.set("time", String(to / 1000));
    } else {
      params.set("start", String(Math.floor(from / stepMs) * (stepMs / 1000)));
      params.set("end", String(Math.floor(to / stepMs) * (stepMs / 1000)));
      params.set("step", String(stepMs / 1000));
    }
    const res = await fetch(`${this.base}/api/v1/${instant ? "query" : "query_range"}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: params,
    });
    requests.push({
      method: "POST",
      url: res.url,
      body: expr,
      status: res.status,
      requestId: request.requestId,
    });
    const answer = (await res
      .json()
      .catch(() => ({ status: "error", error: `HTTP ${res.status}` }))) as PromAnswer;
    if (answer.status !== "success" || !answer.data) {
      throw new Error(answer.error ?? `Prometheus answered HTTP ${res.status}`);
    }
    const meta = { executedQueryString: `Expr: ${expr}\nStep: ${seconds(stepMs)}` };
    if (t.format === "table") {
      return [this.table(t.refId, answer.data.result, meta)];
    }
    return answer.data.result.map((s) => {
      const points = s.values ?? (s.value ? [s.value] : []);
      const name = legendName(t.legendFormat, s.metric);
      return createDataFrame({
        refId: t.refId,
        meta: { ...meta, type: "timeseries-multi" as never },
        fields: [
          {
            name: "Time",
            type: FieldType.time,
            config: { interval: stepMs },
            values: points.map((p) => p[0] * 1000),
          },
          {
            name: "Value",
            type: FieldType.number,
            labels: s.metric,
            config: name === undefined ? {} : { displayNameFromDS: name },
            values: points.map((p) => Number.parseFloat(p[1])),
          },
        ],
      });
    });
  }

  private table(
    refId: string,
    result: PromSample[],
    meta: { executedQueryString: string },
  ): DataFrame {
    const labels = [...new Set(result.flatMap((s) => Object.keys(s.metric)))]
      .filter((l) => l !== "__name__")
      .sort();
    const rows = result.flatMap((s) =>
      (s.values ?? (s.value ? [s.value] : [])).map((p) => ({ s, p })),
    );
    return createDataFrame({
      refId,
      meta,
      fields: [
        { name: "Time", type: FieldType.time, values: rows.map((r) => r.p[0] * 1000) },
        ...labels.map((l) => ({
          name: l,
          type: FieldType.string,
          values: rows.map((r) => r.s.metric[l] ?? ""),
        })),
        {
          name: "Value",
          type: FieldType.number,
          values: rows.map((r) => Number.parseFloat(r.p[1])),
        },
      ],
    });
  }
}
