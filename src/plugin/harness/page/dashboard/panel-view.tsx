// One dashboard panel, as Grafana's dashboard draws it: its queries run (once,
// for the dashboard's range), then the panel's transformations, then its field
// config (the panel type's defaults under the panel's own defaults and
// overrides, applied by @grafana/data's applyFieldOverrides), then
// @grafana/ui's PanelChrome (title, description, error badge) around the
// panel type's component. When drawn it reports what it sent, what it got,
// what a viewer should see and what is on screen (../../dashboard-report.ts).
import {
  EventBusSrv,
  FieldType,
  LoadingState,
  applyFieldOverrides,
  fieldMatchers,
  getFieldDisplayName,
  getPanelOptionsWithDefaults,
  standardTransformersRegistry,
  transformDataFrame,
  type DataFrame,
  type FieldConfigSource,
  type GrafanaTheme2,
  type InterpolateFunction,
  type PanelData,
  type TimeRange,
} from "@grafana/data";
import { PanelChrome, PanelContextProvider } from "@grafana/ui";
import React, { useEffect, useMemo, useRef, useState } from "react";
import { lastValueFrom } from "rxjs";
import type { PanelReport } from "../../dashboard-report";
import { requests } from "../grafana-substitutes";
import type { DataSources } from "./datasources/registry";
import type { Rect } from "./layout";
import type { PanelModel } from "./model";
import { panelType } from "./panels";
import type { Expectations, PanelType } from "./panels/types";
import { runPanelQueries } from "./queries";
import { templateSrv, type FormatFn } from "./template-srv";
import { visibleText } from "./visible-text";

export interface PanelEnv {
  sources: DataSources;
  range: TimeRange;
  dashboardUid: string;
  theme: GrafanaTheme2;
  timeZone: string;
}

interface Drawn {
  data: PanelData;
  options: Record<string, unknown>;
  fieldConfig: FieldConfigSource;
  problems: string[];
  expected: Expectations;
}

const replaceVariables: InterpolateFunction = (v, scoped, fmt) =>
  templateSrv.replace(v, scoped, fmt as FormatFn | string | undefined);

/** Overrides whose matcher matches no field, or that set a property the panel type does not have. */
function overrideProblems(
  fieldConfig: FieldConfigSource,
  frames: DataFrame[],
  type: PanelType,
): string[] {
  const out: string[] = [];
  for (const rule of fieldConfig.overrides) {
    const info = fieldMatchers.getIfExists(rule.matcher.id);
    if (!info) {
      out.push(`override matcher "${rule.matcher.id}" does not exist`);
      continue;
    }
    const match = info.get(rule.matcher.options);
    const hits = frames.flatMap((frame) => frame.fields.filter((f) => match(f, frame, frames)));
    if (!hits.length && frames.some((f) => f.length > 0)) {
      out.push(
        `override ${rule.matcher.id} ${JSON.stringify(rule.matcher.options)} matches no field`,
      );
    }
    for (const p of rule.properties) {
      if (!type.plugin.fieldConfigRegistry.getIfExists(p.id)) {
        out.push(`override property "${p.id}" is not a ${type.id} field option`);
      }
      // A unit formats numbers and times only: on anything else Grafana silently ignores it.
      for (const f of p.id === "unit" ? hits : []) {
        if (f.type !== FieldType.number && f.type !== FieldType.time) {
          out.push(`override sets unit "${String(p.value)}" on "${f.name}", a ${f.type} field`);
        }
      }
    }
  }
  return out;
}

async function process(
  panel: PanelModel,
  type: PanelType,
  raw: PanelData,
  env: PanelEnv,
): Promise<Drawn> {
  const { options, fieldConfig } = getPanelOptionsWithDefaults({
    plugin: type.plugin,
    currentOptions: panel.options,
    currentFieldConfig: panel.fieldConfig,
    isAfterPluginChange: false,
  });
  for (const t of panel.transformations ?? []) {
    if (!standardTransformersRegistry.getIfExists(t.id)) {
      throw new Error(`transformation "${t.id}" does not exist in @grafana/data`);
    }
  }
  const transformed = panel.transformations?.length
    ? await lastValueFrom(
        transformDataFrame(panel.transformations, raw.series, {
          interpolate: (v: string) => templateSrv.replace(v),
        }),
      )
    : raw.series;
  const series = applyFieldOverrides({
    data: transformed,
    fieldConfig,
    fieldConfigRegistry: type.plugin.fieldConfigRegistry,
    replaceVariables,
    theme: env.theme,
    timeZone: env.timeZone,
  });
  return {
    data: { ...raw, series },
    options,
    fieldConfig,
    problems: [...overrideProblems(fieldConfig, series, type), ...type.check(series, options)],
    expected: type.expect(series, options, fieldConfig),
  };
}

class Boundary extends React.Component<
  { onError: (e: string) => void; children: React.ReactNode },
  { error?: string }
> {
  state: { error?: string } = {};
  static getDerivedStateFromError(err: unknown) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  componentDidCatch(err: unknown) {
    this.props.onError(err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err));
  }
  render() {
    return this.state.error ? null : this.props.children;
  }
}

const errorText = (data: PanelData | undefined) =>
  (data?.errors ?? []).map((e) => e.message ?? "error").join("; ");

export function PanelView({
  panel,
  env,
  rect,
  onReport,
}: {
  panel: PanelModel;
  env: PanelEnv;
  rect: Rect;
  onReport: (r: PanelReport) => void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [drawn, setDrawn] = useState<Drawn | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const [renderError, setRenderError] = useState<string | undefined>();
  const eventBus = useMemo(() => new EventBusSrv(), []);
  const type = useMemo(() => {
    try {
      return panelType(panel.type);
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }, [panel.type]);

  useEffect(() => {
    if (typeof type === "string") {
      // Not a query failure: nothing can draw this panel. Reported as a problem of the panel.
      setDrawn({
        data: { state: LoadingState.Error, series: [], timeRange: env.range },
        options: {},
        fieldConfig: panel.fieldConfig,
        problems: [type],
        expected: { names: [], namesOnScreen: 0, values: [], units: [] },
      });
      return;
    }
    runPanelQueries(panel, env.sources, env.range, rect.width, env.dashboardUid)
      .then(({ data }) => process(panel, type, data, env))
      .then(setDrawn)
      .catch((err: unknown) => setFailure(err instanceof Error ? err.message : String(err)));
  }, [panel, env, rect.width, type]);

  const settled = drawn !== undefined || failure !== undefined;
  useEffect(() => {
    if (!settled) {
      return;
    }
    // uPlot and the table draw after React commits: give them two frames and a moment.
    const timer = setTimeout(() => {
      const el = ref.current;
      const requestPrefix = `${env.dashboardUid}-panel-${panel.id}-`;
      const frames = drawn?.data.series ?? [];
      onReport({
        id: panel.id,
        title: panel.title,
        type: panel.type,
        rect,
        sent: requests
          .filter((r) => r.requestId?.startsWith(requestPrefix))
          .map((r) => (typeof r.body === "string" ? r.body : JSON.stringify(r.body))),
        errors: [
          ...(failure ? [failure] : []),
          ...(drawn?.data.errors ?? []).map((e) => `${e.refId ?? ""} ${e.message ?? ""}`.trim()),
        ],
        problems: drawn?.problems ?? [],
        frames: frames.map((f) => ({
          refId: f.refId,
          name: f.name,
          rows: f.length,
          fields: f.fields.map((x) => ({
            name: x.name,
            displayName: getFieldDisplayName(x, f, frames),
            type: x.type,
            unit: x.config.unit,
            labels: x.labels,
          })),
        })),
        expected: drawn?.expected ?? { names: [], namesOnScreen: 0, values: [], units: [] },
        drawn: {
          text: el ? visibleText(el) : "",
          dataMessage:
            el?.querySelector('[data-testid="data-testid Panel data error message"]')
              ?.textContent ?? undefined,
          statusBadge: el?.querySelector('[data-testid^="data-testid Panel status"]') !== null,
        },
        renderError,
      });
    }, 800);
    return () => clearTimeout(timer);
  }, [settled, drawn, failure, renderError, env.dashboardUid, panel, rect, onReport]);

  const status = failure ?? (typeof type === "string" ? type : errorText(drawn?.data));
  const PanelComponent = typeof type === "string" ? undefined : type.plugin.panel;
  return (
    <div
      ref={ref}
      style={{ position: "absolute", left: rect.left, top: rect.top }}
      data-panel-id={panel.id}
    >
      <PanelContextProvider value={{ eventsScope: "global", eventBus }}>
        <PanelChrome
          width={rect.width}
          height={rect.height}
          title={panel.title}
          description={panel.description}
          statusMessage={status || undefined}
          loadingState={
            settled ? (status ? LoadingState.Error : LoadingState.Done) : LoadingState.Loading
          }
        >
          {(width, height) =>
            drawn && PanelComponent ? (
              <Boundary onError={setRenderError}>
                <PanelComponent
                  id={panel.id}
                  data={drawn.data}
                  timeRange={env.range}
                  timeZone={env.timeZone}
                  options={drawn.options}
                  fieldConfig={drawn.fieldConfig}
                  transparent={false}
                  width={width}
                  height={height}
                  renderCounter={0}
                  title={panel.title}
                  eventBus={eventBus}
                  onOptionsChange={() => undefined}
                  onFieldConfigChange={() => undefined}
                  replaceVariables={replaceVariables}
                  onChangeTimeRange={() => undefined}
                />
              </Boundary>
            ) : null
          }
        </PanelChrome>
      </PanelContextProvider>
    </div>
  );
}
