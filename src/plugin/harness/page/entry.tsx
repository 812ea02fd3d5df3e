// The harness page (NOT Grafana): loads the built plugin through the AMD loader,
// renders its ConfigEditor and QueryEditor, runs its DataSource against the real
// gateway through the harness proxy, and draws the frames with @grafana/ui's
// Table and Sparkline. window.harness lets the browser test read what happened.
import React, { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import {
  CoreApp,
  ThemeContext,
  applyFieldOverrides,
  createTheme,
  dateTime,
  FieldType,
  type DataFrame,
  type Field,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceApi,
  type DataSourceInstanceSettings,
  type DataSourcePlugin,
  type DataSourceSettings,
  type TestDataSourceResponse,
} from "@grafana/data";
import { Alert, Button, GlobalStyles, Sparkline, Stack, Table } from "@grafana/ui";
import { loadAmdModule } from "./amd-loader";
import { installSubstitutes, requests } from "./grafana-substitutes";

type Query = { refId: string; queryType?: string; [k: string]: unknown };
type Plugin = DataSourcePlugin<DataSourceApi<Query>, Query>;

interface HarnessConfig {
  uid: string;
  pluginType: string;
  variables: Record<string, string | string[]>;
}

interface SerializedFrame {
  refId?: string;
  name?: string;
  meta?: unknown;
  length: number;
  fields: { name: string; type: string; labels?: unknown; config: unknown; values: unknown[] }[];
}

const serialize = (f: DataFrame): SerializedFrame => ({
  refId: f.refId,
  name: f.name,
  meta: f.meta,
  length: f.length,
  fields: f.fields.map((x) => ({
    name: x.name,
    type: x.type,
    labels: x.labels,
    config: x.config,
    values: Array.from(x.values),
  })),
});

export interface HarnessState {
  ready: boolean;
  error?: string;
  range: { from: number; to: number };
  intervalMs: number;
  testResult?: TestDataSourceResponse;
  lastResponse?: { data: SerializedFrame[]; errors?: unknown[] };
  lastQuery?: Query;
  requests: typeof requests;
  renderErrors: string[];
  settingsSeenByBrowser?: unknown;
  setQuery?: (q: Query) => void;
  metricFindQuery?: (q: unknown) => Promise<unknown>;
}

const harness: HarnessState = {
  ready: false,
  range: { from: Date.now() - 3_600_000, to: Date.now() },
  intervalMs: 15_000,
  requests,
  renderErrors: [],
};
(window as unknown as { harness: HarnessState }).harness = harness;

const theme = createTheme({ colors: { mode: "dark" } });

/** The value range a Sparkline scales to (Grafana's panels compute it the same way). */
function withRange(f: Field): Field {
  const vs = Array.from(f.values as number[]).filter((v) => typeof v === "number");
  const min = Math.min(0, ...vs);
  const max = Math.max(...vs);
  return { ...f, state: { ...f.state, range: { min, max, delta: max - min } } };
}

/** Log frames as lines (Grafana's Logs panel is part of Grafana, not of @grafana/ui). */
function LogLines({ frame }: { frame: DataFrame }) {
  const get = (name: string) => frame.fields.find((f) => f.name === name)?.values ?? [];
  const [ts, body, sev, labels] = ["timestamp", "body", "severity", "labels"].map(get);
  return (
    <pre className="harness-logs">
      {Array.from({ length: frame.length }, (_, i) => {
        const l = (labels?.[i] ?? {}) as Record<string, string>;
        const labelText = Object.entries(l)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ");
        return `${new Date(Number(ts?.[i])).toISOString()}  ${String(sev?.[i] ?? "").padEnd(8)} ${String(body?.[i] ?? "")}\n    {${labelText}}\n`;
      }).join("")}
    </pre>
  );
}

/** A frame that fails to render shows its error instead of unmounting the page. */
class FrameBoundary extends React.Component<{ children: React.ReactNode }, { error?: string }> {
  state: { error?: string } = {};
  static getDerivedStateFromError(err: unknown) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  componentDidCatch(err: unknown) {
    harness.renderErrors.push(
      err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err),
    );
  }
  render() {
    return this.state.error ? (
      <Alert severity="error" title={`render error: ${this.state.error}`} />
    ) : (
      this.props.children
    );
  }
}

function FrameView({ frame }: { frame: DataFrame }) {
  const [shown] = applyFieldOverrides({
    data: [frame],
    fieldConfig: { defaults: {}, overrides: [] },
    replaceVariables: (v: string) => v,
    theme,
    timeZone: "utc",
  });
  if (!shown) {
    return null;
  }
  const time = shown.fields.find((f) => f.type === FieldType.time);
  const numbers =
    frame.meta?.preferredVisualisationType === "graph"
      ? shown.fields.filter((f) => f.type === FieldType.number)
      : [];
  const labels = numbers[0]?.labels ? JSON.stringify(numbers[0].labels) : "";
  return (
    <div className="harness-frame" data-testid={`frame-${frame.refId ?? ""}`}>
      <h4>
        {frame.refId} · {frame.name ?? "frame"} · {frame.meta?.preferredVisualisationType ?? "-"}{" "}
        {String(frame.meta?.type ?? "")} · {frame.length} rows {labels}
      </h4>
      {numbers.map((f) => (
        <div key={f.name} className="harness-sparkline">
          <Sparkline
            width={1100}
            height={90}
            theme={theme}
            sparkline={{ x: time, y: withRange(f) }}
            config={{ ...f.config, custom: { lineWidth: 2, fillOpacity: 15 } }}
          />
        </div>
      ))}
      {frame.meta?.preferredVisualisationType === "logs" ? (
        <LogLines frame={frame} />
      ) : (
        <Table data={shown} width={1100} height={Math.min(320, 36 * (frame.length + 1) + 8)} />
      )}
    </div>
  );
}

function App({ plugin, cfg }: { plugin: Plugin; cfg: HarnessConfig }) {
  const ConfigEditor = plugin.components.ConfigEditor;
  const QueryEditor = plugin.components.QueryEditor;
  const [settings, setSettings] = useState({
    id: 1,
    uid: cfg.uid,
    orgId: 1,
    name: "kernel-gossip (harness)",
    type: cfg.pluginType,
    access: "proxy",
    url: "",
    jsonData: {},
    secureJsonData: {},
    secureJsonFields: {},
    readOnly: false,
  } as unknown as DataSourceSettings);
  const [ds, setDs] = useState<DataSourceApi<Query> | undefined>();
  const [query, setQuery] = useState<Query>({ refId: "A" });
  const [response, setResponse] = useState<DataQueryResponse | undefined>();
  const [testResult, setTestResult] = useState<TestDataSourceResponse | undefined>();

  useEffect(() => {
    harness.setQuery = setQuery;
    harness.lastQuery = query;
  }, [query]);

  const instance = (jsonData: object): DataSourceInstanceSettings =>
    ({
      id: 1,
      uid: cfg.uid,
      type: cfg.pluginType,
      name: "kernel-gossip (harness)",
      access: "proxy",
      url: `/api/datasources/proxy/uid/${cfg.uid}`,
      jsonData,
      meta: {},
      readOnly: false,
    }) as unknown as DataSourceInstanceSettings;

  // "Save & test": the harness server keeps secureJsonData (like Grafana's
  // database) and answers with secureJsonFields only, as Grafana does.
  const saveAndTest = async () => {
    const res = await fetch(`/harness/datasource`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonData: settings.jsonData,
        secureJsonData: settings.secureJsonData,
      }),
    });
    const saved = (await res.json()) as {
      jsonData: object;
      secureJsonFields: Record<string, boolean>;
    };
    harness.settingsSeenByBrowser = saved;
    setSettings({
      ...settings,
      jsonData: saved.jsonData,
      secureJsonFields: saved.secureJsonFields,
      secureJsonData: {},
    } as DataSourceSettings);
    const created = new plugin.DataSourceClass(instance(saved.jsonData));
    setDs(created);
    harness.metricFindQuery = (q: unknown) =>
      created.metricFindQuery
        ? created.metricFindQuery(q, {})
        : Promise.reject(new Error("no metricFindQuery"));
    const result = await created.testDatasource();
    harness.testResult = result;
    setTestResult(result);
  };

  const run = async (app: CoreApp) => {
    if (!ds) {
      return;
    }
    const request = {
      requestId: `harness-${Date.now()}`,
      app,
      targets: [query],
      range: {
        from: dateTime(harness.range.from),
        to: dateTime(harness.range.to),
        raw: { from: dateTime(harness.range.from), to: dateTime(harness.range.to) },
      },
      interval: `${harness.intervalMs / 1000}s`,
      intervalMs: harness.intervalMs,
      maxDataPoints: 600,
      scopedVars: {},
      timezone: "utc",
      startTime: Date.now(),
    } as unknown as DataQueryRequest<Query>;
    const out = (await ds.query(request)) as DataQueryResponse;
    harness.lastResponse = { data: (out.data as DataFrame[]).map(serialize), errors: out.errors };
    setResponse(out);
  };

  return (
    <Stack direction="column" gap={2}>
      <div className="harness-banner">
        kernel-gossip plugin harness — the built dist/module.js in a real browser with the real
        @grafana/data, ui and runtime; requests go through a harness stand-in for Grafana&apos;s
        data-source proxy to the real gateway. This page is not Grafana.
      </div>
      <section id="config-editor" className="harness-section">
        <h3>ConfigEditor</h3>
        {ConfigEditor && <ConfigEditor options={settings} onOptionsChange={setSettings} />}
        <Button onClick={() => void saveAndTest()}>Save &amp; test</Button>
        {testResult && (
          <Alert
            data-testid="test-result"
            severity={testResult.status === "success" ? "success" : "error"}
            title={testResult.message}
          />
        )}
      </section>
      {ds && QueryEditor && (
        <section id="query-editor" className="harness-section">
          <h3>QueryEditor</h3>
          <QueryEditor
            datasource={ds}
            query={query}
            onChange={setQuery}
            onRunQuery={() => undefined}
          />
          <Stack direction="row">
            <Button onClick={() => void run(CoreApp.Dashboard)}>Run as panel</Button>
            <Button variant="secondary" onClick={() => void run(CoreApp.Explore)}>
              Run in Explore
            </Button>
          </Stack>
        </section>
      )}
      {response && (
        <section id="frames" className="harness-section" data-testid="frames">
          <h3>Frames</h3>
          {(response.errors ?? []).map((e, i) => (
            <Alert key={i} severity="error" title={`${e.refId ?? ""}: ${e.message ?? ""}`} />
          ))}
          {(response.data as DataFrame[]).map((f, i) => (
            <FrameBoundary key={`${f.refId ?? ""}-${i}-${f.length}`}>
              <FrameView frame={f} />
            </FrameBoundary>
          ))}
        </section>
      )}
    </Stack>
  );
}

async function main() {
  const cfg = (await (await fetch("/harness/config")).json()) as HarnessConfig;
  installSubstitutes(cfg.variables);
  const exports = await loadAmdModule("/plugin/module.js");
  const plugin = exports.plugin as Plugin;
  const el = document.getElementById("root");
  if (!el) {
    throw new Error("no #root");
  }
  createRoot(el).render(
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      <App plugin={plugin} cfg={cfg} />
    </ThemeContext.Provider>,
  );
  harness.ready = true;
}

main().catch((err: unknown) => {
  harness.error = err instanceof Error ? `${err.message}\n${err.stack ?? ""}` : String(err);
});
