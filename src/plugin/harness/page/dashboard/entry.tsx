// The dashboard renderer page (NOT Grafana; Grafana's server cannot run here —
// ADR 0080). Wiring only: reads a Grafana-style URL
//   /dashboard.html?dashboard=<file>&from=<ms>&to=<ms>&var-<name>=<value>…
//   /dashboard.html?explore=<data source uid>&query=<json>&from=<ms>&to=<ms>
// fills the option registries, installs the backend/template substitutes,
// loads the built plugin (dist/module.js) through the AMD loader, builds the
// provisioned data sources, resolves the variables and draws the dashboard in
// Grafana's dark theme. window.renderer carries the report for the node side.
import {
  CoreApp,
  ThemeContext,
  createTheme,
  dateMath,
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourcePlugin,
} from "@grafana/data";
import { GlobalStyles } from "@grafana/ui";
import React from "react";
import { createRoot } from "react-dom/client";
import { isObservable, lastValueFrom } from "rxjs";
import type { DashboardReport, ExploreReport } from "../../dashboard-report";
import { loadAmdModule } from "../amd-loader";
import { installBackendSrv } from "../grafana-substitutes";
import { DashboardView } from "./dashboard-view";
import {
  buildDataSources,
  dataSourceFor,
  type ProvisionedDataSource,
} from "./datasources/registry";
import { ExploreView } from "./explore-view";
import type { DashboardModel } from "./model";
import { installOptionRegistries } from "./options/registries";
import type { PanelEnv } from "./panel-view";
import { installTemplateSrv } from "./template-srv";
import { rangeOf, resolveVariables } from "./variables";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyPlugin = DataSourcePlugin<any>;

interface RendererConfig {
  pluginType: string;
  datasources: ProvisionedDataSource[];
}

interface RendererState {
  done: boolean;
  report?: DashboardReport | ExploreReport;
}

const state: RendererState = { done: false };
(window as unknown as { renderer: RendererState }).renderer = state;

const theme = createTheme({ colors: { mode: "dark" } });
const params = new URLSearchParams(window.location.search);

function timeRange(defaults: { from: string; to: string }) {
  const from = params.get("from");
  const to = params.get("to");
  const parse = (v: string | null, fallback: string, roundUp: boolean) =>
    v && /^\d+$/.test(v)
      ? Number(v)
      : (dateMath.toDateTime(v ?? fallback, { roundUp })?.valueOf() ?? NaN);
  return { from: parse(from, defaults.from, false), to: parse(to, defaults.to, true) };
}

function selectedVariables(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of params) {
    if (k.startsWith("var-")) {
      (out[k.slice(4)] ??= []).push(v);
    }
  }
  return out;
}

function mount(node: React.ReactNode) {
  const el = document.getElementById("root");
  if (!el) {
    throw new Error("no #root");
  }
  createRoot(el).render(
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      {node}
    </ThemeContext.Provider>,
  );
}

async function renderDashboard(file: string, cfg: RendererConfig, plugin: AnyPlugin) {
  const res = await fetch(`/renderer/dashboards/${encodeURIComponent(file)}`);
  if (!res.ok) {
    throw new Error(`dashboard ${file}: HTTP ${res.status}`);
  }
  const dashboard = (await res.json()) as DashboardModel;
  const r = timeRange(dashboard.time);
  const range = rangeOf(r.from, r.to);
  const sources = buildDataSources(cfg.datasources, plugin, cfg.pluginType);
  const report: DashboardReport = {
    file,
    uid: dashboard.uid,
    title: dashboard.title,
    range: r,
    variables: [],
    panels: [],
  };
  state.report = report;
  const variables = await resolveVariables(
    dashboard.templating.list,
    sources,
    range,
    selectedVariables(),
  );
  report.variables = variables;
  const env: PanelEnv = {
    sources,
    range,
    dashboardUid: dashboard.uid,
    theme,
    timeZone: dashboard.timezone ?? "browser",
  };
  mount(
    <DashboardView
      dashboard={dashboard}
      variables={variables}
      env={env}
      width={window.innerWidth}
      onDone={(panels) => {
        report.panels = panels;
        state.done = true;
      }}
    />,
  );
}

async function renderExplore(uid: string, cfg: RendererConfig, plugin: AnyPlugin) {
  const sources = buildDataSources(cfg.datasources, plugin, cfg.pluginType);
  const ds = dataSourceFor(sources, uid);
  const query = JSON.parse(params.get("query") ?? "{}") as { refId: string };
  const r = timeRange({ from: "now-1h", to: "now" });
  const report: ExploreReport = { query, range: r, rows: 0, errors: [], drawn: { text: "" } };
  state.report = report;
  const request = {
    app: CoreApp.Explore,
    requestId: "explore",
    range: rangeOf(r.from, r.to),
    interval: "1s",
    intervalMs: 1000,
    maxDataPoints: 1000,
    targets: [query],
    scopedVars: {},
    timezone: "browser",
    startTime: Date.now(),
  } as unknown as DataQueryRequest;
  const out = ds.query(request);
  const res: DataQueryResponse = isObservable(out) ? await lastValueFrom(out) : await out;
  const frame = (res.data as DataFrame[]).find(
    (f) => f.meta?.preferredVisualisationType === "logs",
  );
  report.rows = frame?.length ?? 0;
  report.errors = (res.errors ?? []).map((e) => e.message ?? "error");
  // Explore shows the data source's own editor: Grafana hands it the plugin's components.
  ds.components = plugin.components;
  mount(
    <ExploreView
      ds={ds}
      query={query}
      frame={frame}
      errors={report.errors}
      width={window.innerWidth}
      height={window.innerHeight - 200}
      range={r}
      timeZone="browser"
    />,
  );
  setTimeout(() => {
    report.drawn.text = document.getElementById("root")?.textContent ?? "";
    state.done = true;
  }, 800);
}

/**
 * Grafana's page has its font before panels lay out; components that measure text
 * (TableNG's wrapped rows, BigValue's font size) would otherwise measure a fallback.
 */
async function fontsReady() {
  await Promise.all(["400 14px Inter", "500 14px Inter"].map((f) => document.fonts.load(f)));
}

async function main() {
  await fontsReady();
  installOptionRegistries();
  installBackendSrv();
  installTemplateSrv();
  const cfg = (await (await fetch("/renderer/config")).json()) as RendererConfig;
  const exports = await loadAmdModule("/plugin/module.js");
  const plugin = exports.plugin as AnyPlugin;
  const file = params.get("dashboard");
  const explore = params.get("explore");
  if (file) {
    await renderDashboard(file, cfg, plugin);
  } else if (explore) {
    await renderExplore(explore, cfg, plugin);
  } else {
    throw new Error("renderer URL needs ?dashboard=<file> or ?explore=<uid>");
  }
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err);
  state.report = { ...(state.report ?? {}), error: message } as DashboardReport;
  state.done = true;
});
