// The dashboards' and rules' queries against the real parts: every PromQL
// expression (dashboards and Grafana rules) is run by a real Prometheus
// scraping the real observer on this kernel — it must parse and evaluate, and
// every metric it names must be one the observer exports — and every plugin
// target and variable query is answered by a real gateway (backed by the real
// API server and that Prometheus) exactly as the plugin asks: the plugin's own
// request mapping (src/plugin/src/request.ts) builds each request, with the
// range Grafana supplies and variables replaced, as getTemplateSrv() would,
// by values the gateway itself offers. Grafana cannot run here; this is the boundary it would call.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { METRIC } from "../signals/catalogue.ts";
import { REPO_ROOT } from "../../local/runtime/binaries.ts";
import { cpuCgroup, type CpuCgroup } from "../../../tests/env/cgroup.ts";
import { startObserver, type Observer } from "../../local/runtime/observer.ts";
import { startPrometheus, type Prometheus } from "../../local/runtime/prometheus.ts";
import { closeTestCluster, testCluster } from "../../../tests/env/test-cluster.ts";
import type { RunningGateway } from "../../gateway/gateway.ts";
import { apiClient, eventually, startTestGateway } from "../../../tests/support/gateway.ts";
import { grafanaAlerting } from "../alerts/grafana-alerting.ts";
import { SHIPPED_RULES } from "../alerts/rules.ts";
import { DASHBOARDS } from "../dashboards/index.ts";
import { PLUGIN_ID } from "./contract.ts";
import {
  csvInterpolate,
  pluginRequest,
  pluginVariablePath,
} from "../../../tests/support/grafana/plugin-request.ts";

type Board = ReturnType<(typeof DASHBOARDS)[string]>;
interface AnyTarget {
  refId: string;
  datasource: { type: string; uid: string };
  expr?: string;
  instant?: boolean;
  [k: string]: unknown;
}

let observer: Observer;
let cg: CpuCgroup;
let prom: Prometheus;
let gw: RunningGateway;
const boards: Board[] = Object.values(DASHBOARDS).map((b) => b());

before(async () => {
  const kube = await testCluster();
  // A CPU-limited, throttled workload, so limit and throttling series exist here.
  cg = await cpuCgroup({ quotaCores: 0.2 });
  await cg.startLoad();
  observer = await startObserver({ args: ["--sample-interval-ms", "500"] });
  prom = await startPrometheus({
    scrapeTargets: [{ url: observer.url, labels: { node: "local" } }],
    scrapeInterval: "1s",
  });
  gw = await startTestGateway({
    KUBECONFIG: kube.kubeconfig,
    KG_PROMETHEUS_URL: prom.url,
    KG_SCRAPE_INTERVAL: "1s",
  });
  await eventually(
    "two scrapes of the observer",
    async () => {
      const r = await promQuery(`count_over_time(${METRIC.scrapeDuration}[1m])`);
      return Number(r.data?.result[0]?.value?.[1] ?? 0) >= 2 ? true : undefined;
    },
    60_000,
  );
});
after(async () => {
  for (const stop of [() => gw.close(), () => prom.stop(), () => observer.stop(), () => cg.stop()])
    await stop().catch(() => undefined);
  await closeTestCluster();
});

interface PromAnswer {
  status: string;
  error?: string;
  data?: { result: { metric: Record<string, string>; value?: [number, string] }[] };
}
async function promQuery(expr: string, range = false): Promise<PromAnswer> {
  const now = Math.floor(Date.now() / 1000);
  const params = new URLSearchParams({ query: expr });
  if (range) {
    params.set("start", String(now - 900));
    params.set("end", String(now));
    params.set("step", "15");
  } else params.set("time", String(now));
  const r = await fetch(`${prom.url}/api/v1/${range ? "query_range" : "query"}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: params,
  });
  return (await r.json()) as PromAnswer;
}

/** What Grafana substitutes: its interval macros, and one chosen value per variable. */
function grafanaInterpolate(expr: string, vars: Map<string, string>): string {
  return expr
    .replace(/\$__rate_interval/g, "1m")
    .replace(/\$__range/g, "15m")
    .replace(/\$__interval/g, "15s")
    .replace(/\$(\w+)/g, (_, name: string) => vars.get(name) ?? "kg-none");
}

const promExprs = () => [
  ...boards.flatMap((b) =>
    b.panels.flatMap((p) =>
      (p.targets as unknown as AnyTarget[])
        .filter((t) => typeof t.expr === "string")
        .map((t) => ({
          where: `${b.uid}/${p.title}/${t.refId}`,
          expr: t.expr ?? "",
          range: !t.instant,
        })),
    ),
  ),
  ...(grafanaAlerting(SHIPPED_RULES).groups[0]?.rules ?? []).map((r) => ({
    where: `rule ${r.uid}`,
    expr: (r.data[0]?.model as { expr: string }).expr,
    range: false,
  })),
];

test("every PromQL expression evaluates on the real Prometheus over the real observer", async () => {
  const exported = await (await fetch(`${observer.url}/metrics`)).text();
  // Families without a series yet (no OOM kill since start) are only in the documented table.
  const documented = await readFile(join(REPO_ROOT, "observer/README.md"), "utf8");
  const exprs = promExprs();
  // A floor that catches the extraction finding nothing (14 when written: the
  // dashboards' PromQL and the Grafana rules).
  assert.ok(exprs.length >= 12, `only ${exprs.length} expressions`);
  const missing = new Set<string>();
  for (const { where, expr, range } of exprs) {
    const answer = await promQuery(grafanaInterpolate(expr, new Map()), range);
    assert.equal(answer.status, "success", `${where}: ${answer.error ?? ""}\n${expr}`);
    for (const [name] of expr.matchAll(/kernel_gossip_[a-z_]+/g)) {
      const family = name.replace(/_(total|bucket|sum|count)$/, "");
      if (!exported.includes(`# TYPE ${family} `) && !documented.includes(`| \`${name}\` |`))
        missing.add(`${where}: ${name}`);
    }
  }
  assert.deepEqual([...missing], [], "metrics the observer does not export");
  // And one that must have data on any machine with a running observer.
  const up = await promQuery(`count(${METRIC.scrapeDuration}) or vector(0)`);
  assert.equal(up.data?.result[0]?.value?.[1], "1");
});

test("every plugin target and variable query is answered by the real gateway", async () => {
  const api = await apiClient(gw.url);
  const now = Date.now();
  let asked = 0;
  for (const b of boards) {
    // Variables in order, each scoped by the ones before, as Grafana refreshes them;
    // the plugin's own parser and path builder make each request.
    const chosen = new Map<string, string[]>();
    const interpolate = csvInterpolate(chosen);
    for (const v of b.templating.list) {
      const path = pluginVariablePath(v.query, interpolate);
      assert.ok(path, `${b.uid} $${v.name}: ${JSON.stringify(v.query)}`);
      const r = await api.call<{ values: string[] }>("GET", path);
      assert.equal(r.status, 200, `${b.uid} $${v.name} ${path}: ${r.text}`);
      const re = v.regex ? new RegExp(v.regex.slice(1, v.regex.lastIndexOf("/"))) : undefined;
      const first = r.body.values.find((x) => !re || re.test(x));
      // A variable without values replaces to "" (any), as Grafana's csv format does.
      chosen.set(v.name, first === undefined ? [] : [first]);
    }
    const targets: AnyTarget[] = [
      ...b.panels.flatMap((p) => p.targets as unknown as AnyTarget[]),
      ...b.annotations.list.flatMap((a) =>
        a.target
          ? [{ ...(a.target as AnyTarget), datasource: a.datasource as AnyTarget["datasource"] }]
          : [],
      ),
    ].filter((t) => t.datasource.type === PLUGIN_ID);
    for (const t of targets) {
      const what = `${b.uid}: ${JSON.stringify(t)}`;
      const sent = pluginRequest(t, now - 900_000, now, interpolate);
      if (sent.kind === "annotations") {
        const r = await api.call<{ annotations: unknown[] }>("GET", sent.path);
        assert.equal(r.status, 200, `${what} ${sent.path}: ${r.text}`);
        assert.ok(Array.isArray(r.body.annotations), what);
        asked++;
        continue;
      }
      if (sent.kind !== "query") assert.fail(`${what}: ${sent.why}`);
      const r = await api.call<{ results: Record<string, { status: number; error?: string }> }>(
        "POST",
        "/api/v1/query",
        { queries: [sent.query] },
      );
      assert.equal(r.status, 200, `${what} → ${JSON.stringify(sent.query)}: ${r.text}`);
      const res = r.body.results[t.refId];
      assert.equal(res?.status, 200, `${what}: ${res?.error ?? ""}`);
      asked++;
    }
  }
  assert.ok(asked >= 15, `only ${asked} plugin targets`);
});

test("the panels show the kernel's numbers for a cgroup it throttles", async () => {
  const api = await apiClient(gw.url);
  const target = (uid: string, title: string) => {
    const t = boards.find((b) => b.uid === uid)?.panels.find((p) => p.title === title)
      ?.targets[0] as AnyTarget | undefined;
    assert.ok(t, `${uid}/${title}`);
    // Narrowed to this test's cgroup (a workload without pod labels, shared machine),
    // then sent as the plugin sends it.
    const sent = pluginRequest(
      { ...t, filters: { cgroup: cg.path } },
      now - 300_000,
      now,
      (x) => x,
    );
    if (sent.kind !== "query") assert.fail(`${uid}/${title}: ${sent.kind}`);
    return sent.query;
  };
  const now = Date.now();
  const r = await api.call<{
    results: Record<
      string,
      { status: number; frames: { fields: { name: string; values: unknown[] }[] }[] }
    >;
  }>("POST", "/api/v1/query", {
    queries: [
      { ...target("kg-kernel-truth", "CFS throttled periods (share)"), refId: "T" },
      { ...target("kg-metrics-lie", "Truth vs metrics over the range"), refId: "M" },
    ],
  });
  assert.equal(r.status, 200, r.text);
  const series = r.body.results.T?.frames ?? [];
  const ratios = series.flatMap((f) => f.fields.find((x) => x.name !== "time")?.values ?? []);
  assert.ok(
    ratios.some((v) => typeof v === "number" && v > 0.5),
    `throttled share ${JSON.stringify(ratios.slice(-5))}`,
  );
  const truth = r.body.results.M?.frames[0]?.fields ?? [];
  const col = (name: string) => truth.find((f) => f.name === name)?.values ?? [];
  const row = col("workload").findIndex((w) => typeof w === "string" && w.includes(cg.path));
  assert.ok(row >= 0, JSON.stringify(col("workload")));
  const ratio = col("throttledPeriodsRatio")[row];
  assert.ok(typeof ratio === "number" && ratio > 0.5, `ratio ${String(ratio)}`);
  assert.equal(col("cpuLimitCores")[row], 0.2);
});
