// Runs one panel's targets as Grafana's panel query runner does: one
// DataQueryRequest per data source (the panel's, or a target's own), with
// maxDataPoints = the panel's width in pixels unless the panel sets it, the
// interval from rangeUtil.calculateInterval with the data source's (or
// panel's) minimum interval as lower limit, and __interval/__interval_ms in
// the scoped variables. Returns Grafana's PanelData: frames, errors, state.
import {
  CoreApp,
  LoadingState,
  rangeUtil,
  type DataFrame,
  type DataQueryError,
  type DataQueryRequest,
  type DataQueryResponse,
  type PanelData,
  type TimeRange,
} from "@grafana/data";
import { isObservable, lastValueFrom } from "rxjs";
import { dataSourceFor, type DataSources } from "./datasources/registry";
import type { PanelModel } from "./model";

export interface SentRequest {
  datasource: string;
  targets: unknown[];
  intervalMs: number;
  maxDataPoints: number;
}

export async function runPanelQueries(
  panel: PanelModel,
  sources: DataSources,
  range: TimeRange,
  width: number,
  dashboardUid: string,
): Promise<{ data: PanelData; sent: SentRequest[] }> {
  const byDs = new Map<string, PanelModel["targets"]>();
  for (const t of panel.targets) {
    const uid = t.datasource?.uid ?? panel.datasource?.uid ?? "";
    byDs.set(uid, [...(byDs.get(uid) ?? []), t]);
  }
  const series: DataFrame[] = [];
  const errors: DataQueryError[] = [];
  const sent: SentRequest[] = [];
  for (const [uid, targets] of byDs) {
    try {
      const ds = dataSourceFor(sources, uid);
      const maxDataPoints = panel.maxDataPoints ?? Math.round(width);
      const lowLimit = panel.interval ?? (ds.interval || undefined);
      const { interval, intervalMs } = rangeUtil.calculateInterval(range, maxDataPoints, lowLimit);
      const request = {
        app: CoreApp.Dashboard,
        requestId: `${dashboardUid}-panel-${panel.id}-${uid}`,
        dashboardUID: dashboardUid,
        panelId: panel.id,
        range,
        rangeRaw: range.raw,
        interval,
        intervalMs,
        maxDataPoints,
        targets,
        scopedVars: {
          __interval: { text: interval, value: interval },
          __interval_ms: { text: String(intervalMs), value: intervalMs },
        },
        timezone: "browser",
        startTime: Date.now(),
      } as unknown as DataQueryRequest;
      sent.push({ datasource: uid, targets, intervalMs, maxDataPoints });
      const out = ds.query(request);
      const res: DataQueryResponse = isObservable(out) ? await lastValueFrom(out) : await out;
      series.push(...(res.data as DataFrame[]));
      errors.push(...(res.errors ?? (res.error ? [res.error] : [])));
    } catch (err) {
      errors.push({ message: err instanceof Error ? err.message : String(err) });
    }
  }
  return {
    data: {
      state: errors.length ? LoadingState.Error : LoadingState.Done,
      series,
      errors: errors.length ? errors : undefined,
      timeRange: range,
    },
    sent,
  };
}
