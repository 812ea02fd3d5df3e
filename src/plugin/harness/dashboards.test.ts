// The four shipped dashboards drawn by the dashboard renderer — a SUBSTITUTE
// for Grafana's dashboard page (Grafana cannot run here; ADR 0080): the built
// plugin and Grafana's own @grafana/ui panel components in Debian's Chromium,
// against a live stack seeded with real workloads (src/local/scenes: the CLI
// demos' throttle burst, OOM allocator and UDP sender in pods on the real
// kubelet test node, iptables drops in a pod's netns, pod starts captured as
// births). Per panel: the variables resolved, it drew data (no "No data", no
// error badge), legends and values come from the frames with their units.
// The last cases break a dashboard on purpose and check that the same checks
// name the panel. Needs root (kubelet, BPF); starts the test node.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../../local/runtime/binaries.ts";
import { closeTestCluster, testCluster } from "../../../tests/env/test-cluster.ts";
import { playScenes, type Scenes } from "../../local/scenes/play.ts";
import { startSceneStack, type SceneStack } from "../../local/scenes/stack.ts";
import { DASHBOARDS } from "../../shared/dashboards/index.ts";
import { GATEWAY_DS } from "../../shared/grafana/contract.ts";
import { dashboardProblems } from "./dashboard-checks.ts";
import { exploreQuery, shots } from "./dashboard-shots.ts";
import type { DashboardReport } from "./dashboard-report.ts";
import { startRenderer, type Renderer } from "./dashboard-render.ts";

const isRoot = process.getuid?.() === 0;
const log = (l: string) => console.log(`dashboards: ${l}`);
// The tests' cached observer build; `./kg run` builds the release one.
process.env.KG_OBSERVER_PROFILE ??= "debug";

let scenes: Scenes;
let renderer: Renderer;
let broken: Renderer;
let brokenDir: string;
let range: { from: number; to: number };
/** Undone in reverse order after the file, also when `before` failed half-way. */
const cleanup: (() => Promise<unknown>)[] = [];

/** The variables a presenter picks (dashboard-shots.ts): this run's namespaces, not other tests'. */
const variablesFor = (file: string): Record<string, string[]> =>
  shots(scenes.namespaces).find((s) => s.file === file)?.variables ?? {};

async function editDashboard(file: string, edit: (d: DashboardJson) => void) {
  const path = join(brokenDir, file);
  const d = JSON.parse(await readFile(path, "utf8")) as DashboardJson;
  edit(d);
  await writeFile(path, JSON.stringify(d));
}
interface DashboardJson {
  panels: {
    title: string;
    type: string;
    targets: Record<string, unknown>[];
    options: Record<string, unknown>;
  }[];
}

describe(
  "dashboard renderer (not Grafana): the shipped dashboards against a seeded live stack",
  { skip: !isRoot && "needs root" },
  () => {
    before(async () => {
      const kube = await testCluster();
      cleanup.push(() => closeTestCluster());
      const suffix = randomBytes(3).toString("hex");
      const stack: SceneStack = await startSceneStack({
        kubeconfig: kube.kubeconfig,
        scrapeIntervalSeconds: 5,
        log,
      });
      cleanup.push(() => stack.stop());
      scenes = await playScenes(stack, {
        namespaces: { shop: `shop-${suffix}`, batch: `batch-${suffix}` },
        log,
      });
      cleanup.push(() => scenes.stop());
      await scenes.waitForData(6 * 60_000);
      range = { from: scenes.startedAt - 60_000, to: Date.now() };
      renderer = await startRenderer(stack.endpoints, { log });
      cleanup.push(() => renderer.close());
      brokenDir = await mkdtemp(join(tmpdir(), "kg-dashboards-broken-"));
      cleanup.push(() => rm(brokenDir, { recursive: true, force: true }));
      await cp(join(REPO_ROOT, "dashboards"), brokenDir, { recursive: true });
      broken = await startRenderer(stack.endpoints, { dashboardsDir: brokenDir, log });
      cleanup.push(() => broken.close());
    });

    after(async () => {
      for (const undo of cleanup.reverse()) await undo().catch((e: unknown) => log(String(e)));
    });

    for (const file of Object.keys(DASHBOARDS)) {
      test(`${file}: every panel drew its data with units and legends from the frames`, async () => {
        const report = await renderer.dashboard(file, { ...range, variables: variablesFor(file) });
        assert.deepEqual(dashboardProblems(report), []);
        assert.ok(report.panels.length >= 4, `${file}: ${report.panels.length} panels`);
        for (const v of report.variables) assert.ok(v.current.length > 0, `$${v.name} unresolved`);
      });
    }

    test("the Explore view shows the whispers as log lines", async () => {
      const r = await renderer.explore(GATEWAY_DS.uid, exploreQuery(scenes.namespaces), range);
      assert.equal(r.error, undefined);
      assert.deepEqual(r.errors, []);
      assert.ok(r.rows >= 3, `${r.rows} whispers`);
      assert.match(r.drawn.text, /cpu-throttling on .*checkout/);
    });

    const problemsOf = (r: DashboardReport) => dashboardProblems(r).join("\n");

    test("a broken PromQL query fails the checks, naming its panel", async () => {
      await editDashboard("metrics-lie.json", (d) => {
        const p = d.panels.find((x) => x.targets.some((t) => typeof t.expr === "string"));
        assert.ok(p);
        for (const t of p.targets) if (typeof t.expr === "string") t.expr = `sum(rate(${t.expr}`;
      });
      const r = await broken.dashboard("metrics-lie.json", {
        ...range,
        variables: variablesFor("metrics-lie.json"),
      });
      assert.match(problemsOf(r), /^Metrics lie \/ [^:]+: query error: .*parse error/m);
    });

    test("a gateway query the plugin sends wrong fails the checks, naming its panel", async () => {
      await editDashboard("network-drops.json", (d) => {
        const p = d.panels.find((x) => x.targets.some((t) => t.queryType === "signal"));
        assert.ok(p);
        for (const t of p.targets) t.signal = "no-such-signal";
      });
      const r = await broken.dashboard("network-drops.json", {
        ...range,
        variables: variablesFor("network-drops.json"),
      });
      assert.match(problemsOf(r), /^Network drops \/ Gateway: [\w-]+: query error: /m);
    });

    test("a field-type mismatch fails the checks, naming its panel", async () => {
      await editDashboard("pod-birth-certificate.json", (d) => {
        const p = d.panels.find((x) => x.type === "stat");
        assert.ok(p);
        p.options.reduceOptions = { calcs: ["firstNotNull"], fields: "/^pod$/", values: false };
      });
      const r = await broken.dashboard("pod-birth-certificate.json", {
        ...range,
        variables: variablesFor("pod-birth-certificate.json"),
      });
      assert.match(
        problemsOf(r),
        /^Pod birth certificate \/ [^:]+: reduceOptions.fields picks "pod", a string field/m,
      );
    });

    test("a panel type the renderer cannot draw fails loudly, naming its panel", async () => {
      await editDashboard("kernel-truth-overview.json", (d) => {
        const p = d.panels[1];
        assert.ok(p);
        p.type = "piechart";
      });
      const r = await broken.dashboard("kernel-truth-overview.json", {
        ...range,
        variables: variablesFor("kernel-truth-overview.json"),
      });
      assert.match(
        problemsOf(r),
        /^Kernel truth overview \/ [^:]+: panel type "piechart" is not drawn by the renderer/m,
      );
    });
  },
);
