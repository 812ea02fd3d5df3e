// The data source: panel queries become one POST /api/v1/query to the gateway
// (through Grafana's data-source proxy route, which adds the bearer token),
// answers become data frames; variables, annotations and the settings test
// use the gateway's other endpoints.
import {
  CoreApp,
  DataSourceApi,
  FieldType,
  createDataFrame,
  toDataFrame,
  type DataFrame,
  type DataQueryError,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
  type TestDataSourceResponse,
} from "@grafana/data";
import { getBackendSrv, getTemplateSrv } from "@grafana/runtime";
import { lastValueFrom } from "rxjs";
import {
  ROUTE_PATH,
  type GatewayAnnotation,
  type GatewayFrame,
  type GatewayQueryResponse,
  type GatewayReadiness,
} from "./contract";
import { describeFailure, gatewayError } from "./gateway-errors";
import {
  MIN_INTERVAL_MS,
  annotationParams,
  parseVariableQuery,
  toGatewayQuery,
  variablePath,
  type Interpolate,
} from "./request";
import { KernelVariableSupport } from "./variables";
import { DEFAULT_QUERY, type KernelOptions, type KernelQuery, type VariableQuery } from "./types";

export class DataSource extends DataSourceApi<KernelQuery, KernelOptions> {
  /** Grafana's proxy URL for this data source + the plugin.json route to the gateway. */
  readonly base: string;
  readonly gatewayUrl: string | undefined;

  constructor(settings: DataSourceInstanceSettings<KernelOptions>) {
    super(settings);
    this.base = `${settings.url ?? ""}/${ROUTE_PATH}`;
    this.gatewayUrl = settings.jsonData.gatewayUrl;
    // Default annotation support: the query editor edits an "annotations" query,
    // query() answers it with time/timeEnd/title/text/tags fields.
    this.annotations = { getDefaultQuery: () => ({ queryType: "annotations" }) };
    this.variables = new KernelVariableSupport(this);
    // Grafana's lower limit for $__interval and the request's intervalMs (its
    // panel query runner reads ds.interval): the gateway's smallest step.
    this.interval = `${MIN_INTERVAL_MS / 1000}s`;
  }

  getDefaultQuery(_app: CoreApp): Partial<KernelQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(q: KernelQuery): boolean {
    return !q.hide && !(q.queryType === "pixie" && !q.script);
  }

  private interpolator(scopedVars: ScopedVars | undefined): Interpolate {
    const srv = getTemplateSrv();
    return (text) => srv.replace(text, scopedVars, "csv");
  }

  private async get<T>(path: string): Promise<T> {
    const res = await lastValueFrom(
      getBackendSrv().fetch<T>({ url: `${this.base}${path}`, method: "GET" }),
    );
    return res.data;
  }

  async query(request: DataQueryRequest<KernelQuery>): Promise<DataQueryResponse> {
    const interpolate = this.interpolator(request.scopedVars);
    const ctx = {
      from: request.range.from.valueOf(),
      to: request.range.to.valueOf(),
      intervalMs: request.intervalMs,
      maxDataPoints: request.maxDataPoints,
      explore: request.app === CoreApp.Explore,
      interpolate,
    };
    const targets = request.targets.filter((t) => !t.hide);
    const queries = targets.flatMap((t) => toGatewayQuery(t, ctx) ?? []);
    const annotations = targets.filter((t) => t.queryType === "annotations");
    const data: DataFrame[] = [];
    const errors: DataQueryError[] = [];

    if (queries.length > 0) {
      try {
        const res = await lastValueFrom(
          getBackendSrv().fetch<GatewayQueryResponse>({
            url: `${this.base}/api/v1/query`,
            method: "POST",
            data: { queries },
            requestId: request.requestId,
          }),
        );
        for (const q of queries) {
          const result = res.data.results[q.refId];
          if (!result) {
            errors.push({ refId: q.refId, message: `The gateway sent no result for ${q.refId}` });
            continue;
          }
          if (result.status !== 200) {
            const from = result.source ? ` (source ${result.source})` : "";
            errors.push({
              refId: q.refId,
              status: result.status,
              message: `${result.error ?? "failed"}${from}`,
            });
          }
          data.push(...result.frames.map(toFrame));
        }
      } catch (err) {
        const message = describeFailure(err, this.gatewayUrl);
        const field = gatewayError((err as { data?: unknown }).data)?.field;
        for (const q of queries) {
          errors.push({ refId: q.refId, message: field ? `${message} (field ${field})` : message });
        }
      }
    }

    for (const t of annotations) {
      try {
        const body = await this.get<{ annotations: GatewayAnnotation[] }>(
          `/api/v1/annotations?${annotationParams(t, ctx.from, ctx.to, interpolate)}`,
        );
        data.push(annotationFrame(t.refId, body.annotations));
      } catch (err) {
        errors.push({ refId: t.refId, message: describeFailure(err, this.gatewayUrl) });
      }
    }

    return errors.length ? { data, errors, error: errors[0] } : { data };
  }

  /** Values for dashboard variables: namespaces, pods, containers, nodes, signals. */
  async metricFindQuery(
    query: VariableQuery | string,
    options?: { scopedVars?: ScopedVars },
  ): Promise<MetricFindValue[]> {
    const q = parseVariableQuery(query);
    if (!q?.kind) {
      return [];
    }
    const interpolate = this.interpolator(options?.scopedVars);
    const body = await this.get<{ values: string[] }>(variablePath(q, interpolate));
    return body.values.map((text) => ({ text, value: text }));
  }

  /** Save & test: reachable? token accepted? every source ready? Says which one is not. */
  async testDatasource(): Promise<TestDataSourceResponse> {
    if (!this.gatewayUrl) {
      return {
        status: "error",
        message: 'No gateway URL: set "Gateway URL" in the data source settings.',
      };
    }
    try {
      const health = await this.get<{ status?: string }>("/healthz");
      if (health.status !== "ok") {
        return {
          status: "error",
          message: `${this.gatewayUrl} answered /healthz, but not as a kernel-gossip gateway.`,
        };
      }
    } catch (err) {
      return { status: "error", message: describeFailure(err, this.gatewayUrl) };
    }
    try {
      // /healthz and /readyz are open paths: only an API call proves the token.
      await this.get<{ values: string[] }>("/api/v1/variables/signals");
    } catch (err) {
      return { status: "error", message: describeFailure(err, this.gatewayUrl) };
    }
    let ready: GatewayReadiness;
    try {
      ready = await this.get<GatewayReadiness>("/readyz");
    } catch (err) {
      const data = (err as { status?: number; data?: unknown }).data as
        GatewayReadiness | undefined;
      if (!data || !Array.isArray(data.sources)) {
        return { status: "error", message: describeFailure(err, this.gatewayUrl) };
      }
      ready = data;
    }
    const notReady = ready.sources.filter((s) => s.state !== "ready");
    const list = notReady
      .map((s) => `${s.name} ${s.state}${s.message ? ` (${s.message})` : ""}`)
      .join("; ");
    if (!ready.ready) {
      return {
        status: "error",
        message: `The gateway is up and accepts the token, but is not ready: ${list}`,
      };
    }
    return {
      status: "success",
      message: notReady.length
        ? `Gateway ready (${ready.sources.length - notReady.length}/${ready.sources.length} sources ready): ${list}`
        : `Gateway ready: ${ready.sources.map((s) => s.name).join(", ")}`,
    };
  }
}

/** A gateway frame as a DataFrame; its meta (preferred visualisation, log-lines) is kept. */
export function toFrame(f: GatewayFrame): DataFrame {
  return toDataFrame(f);
}

/** Whispers as Grafana annotations: time ranges from firstSeen to lastSeen. */
export function annotationFrame(refId: string, rows: GatewayAnnotation[]): DataFrame {
  return createDataFrame({
    refId,
    name: "whispers",
    fields: [
      { name: "time", type: FieldType.time, values: rows.map((a) => a.time) },
      { name: "timeEnd", type: FieldType.time, values: rows.map((a) => a.timeEnd) },
      { name: "title", type: FieldType.string, values: rows.map((a) => a.title) },
      { name: "text", type: FieldType.string, values: rows.map((a) => a.text) },
      { name: "tags", type: FieldType.other, values: rows.map((a) => a.tags) },
      { name: "id", type: FieldType.string, values: rows.map((a) => a.id) },
    ],
  });
}
