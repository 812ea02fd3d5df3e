// The dashboards' and rules' queries against the real parts: every PromQL
// expression (dashboards and Grafana rules) is run by a real Prometheus
// scraping the real observer on this kernel — it must parse and evaluate, and
// every metric it names must be one the observer exports — and every plugin
// target and variable query is answered by a real gateway (backed by the real
// API server and that Prometheus) as Grafana's plugin would ask: with the
// range Grafana supplies and variables replaced by the values the gateway
// itself offers. Grafana cannot run here; this is the boundary it would call.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { REPO_ROOT } from "../../../tests/env/binaries.ts";
import { cpuCgroup, type CpuCgroup } from "../../../tests/env/cgroup.ts";
import { startObserver, type Observer } from "../../../tests/env/observer.ts";
import { startPrometheus, type Prometheus } from "../../../tests/env/prometheus.ts";
import { closeTestCluster, testCluster } from "../../../tests/env/test-cluster.ts";
import type { RunningGateway } from "../../gateway/gateway.ts";
import { apiClient, eventually, startTestGateway } from "../../gateway/testing.ts";
import { grafanaAlerting } from "../alerts/grafana-alerting.ts";
import { SHIPPED_RULES } from "../alerts/rules.ts";
import { DASHBOARDS } from "../dashboards/index.ts";
import { PLUGIN_ID } from "./contract.ts";

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
    KG_SCRAPE_INTERVAL_MS: "1000",
  });
  await eventually("two scrapes of the observer", 60_000, async () => {
    const r = await promQuery("count_over_time(kernel_gossip_scrape_duration_seconds[1m])");
    return Number(r.data?.result[0]?.value?.[1] ?? 0) >= 2 ? true : undefined;
  });
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
      (p.targets as AnyTarget[])
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
  assert.ok(exprs.length >= 15, `only ${exprs.length} expressions`);
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
  const up = await promQuery("count(kernel_gossip_scrape_duration_seconds) or vector(0)");
  assert.equal(up.data?.result[0]?.value?.[1], "1");
});

test("every plugin target and variable query is answered by the real gateway", async () => {
  const api = await apiClient(gw.url);
  const now = Date.now();
  let asked = 0;
  for (const b of boards) {
    // Variables in order, each scoped by the ones before, as Grafana refreshes them.
    const chosen = new Map<string, string>();
    for (const v of b.templating.list) {
      // A scope variable without a value is "All of nothing": the plugin leaves it out.
      const [kind = "", params = ""] = v.query.split("?");
      const scope = new URLSearchParams();
      for (const [k, val] of new URLSearchParams(params)) {
        const x = chosen.get(val.replace(/^\$/, ""));
        if (x !== undefined) scope.set(k, x);
      }
      const path = scope.size ? `${kind}?${scope.toString()}` : kind;
      const r = await api.call<{ values: string[] }>("GET", `/api/v1/variables/${path}`);
      assert.equal(r.status, 200, `${b.uid} $${v.name}: ${r.text}`);
      const re = v.regex ? new RegExp(v.regex.slice(1, v.regex.lastIndexOf("/"))) : undefined;
      const first = r.body.values.find((x) => !re || re.test(x));
      if (first !== undefined) chosen.set(v.name, first);
    }
    const targets: AnyTarget[] = [
      ...b.panels.flatMap((p) => p.targets as AnyTarget[]),
      ...b.annotations.list.flatMap((a) =>
        a.target
          ? [{ ...(a.target as AnyTarget), datasource: a.datasource as AnyTarget["datasource"] }]
          : [],
      ),
    ].filter((t) => t.datasource.type === PLUGIN_ID);
    for (const t of targets) {
      const query: Record<string, unknown> = { ...t, range: { from: now - 900_000, to: now } };
      delete query.datasource;
      // A variable with no values is "All of nothing": the plugin sends an empty list (any).
      const text = JSON.stringify(query).replace(/"\$(\w+)"/g, (_, n: string) =>
        chosen.has(n) ? JSON.stringify(chosen.get(n)) : "",
      );
      const body = JSON.parse(text.replace(/\[,?\]/g, "[]").replace(/,\]/g, "]")) as object;
      const r = await api.call<{ results: Record<string, { status: number; error?: string }> }>(
        "POST",
        "/api/v1/query",
        { queries: [body] },
      );
      assert.equal(r.status, 200, `${b.uid}: ${JSON.stringify(t)}: ${r.text}`);
      const res = r.body.results[t.refId];
      assert.equal(res?.status, 200, `${b.uid}: ${JSON.stringify(t)}: ${res?.error ?? ""}`);
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
    // Narrowed to this test's cgroup: a workload without pod labels, shared machine.
    const query: Record<string, unknown> = { ...t, filters: { cgroup: [cg.path] } };
    delete query.datasource;
    return query;
  };
  const now = Date.now();
  const range = { from: now - 300_000, to: now };
  const r = await api.call<{
    results: Record<
      string,
      { status: number; frames: { fields: { name: string; values: unknown[] }[] }[] }
    >;
  }>("POST", "/api/v1/query", {
    queries: [
      { ...target("kg-kernel-truth", "CFS throttled periods (share)"), refId: "T", range },
      { ...target("kg-metrics-lie", "Truth vs metrics over the range"), refId: "M", range },
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
