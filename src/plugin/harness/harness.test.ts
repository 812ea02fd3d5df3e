// The built plugin in a real browser against the real gateway. A harness page
// (NOT Grafana: Grafana cannot run here) loads dist/module.js through an AMD
// loader with the real @grafana/data, ui and runtime, React and rxjs; Debian's
// Chromium renders the plugin's own editors; a harness stand-in for Grafana's
// data-source proxy implements plugin.json's route (bearer token from
// secureJsonData). The gateway reads the real API server (KernelWhispers and
// PodBirthCertificates this file creates) and the real observer, which watches
// a cgroup this file CPU-throttles on this kernel.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { REPO_ROOT } from "../../local/runtime/binaries.ts";
import { cpuCgroup, type CpuCgroup, type CpuStat } from "../../../tests/env/cgroup.ts";
import { freePort } from "../../local/runtime/cluster.ts";
import { startObserver, type Observer } from "../../local/runtime/observer.ts";
import {
  closeTestCluster,
  testCluster,
  type TestCluster,
} from "../../../tests/env/test-cluster.ts";
import type { RunningGateway } from "../../gateway/gateway.ts";
import {
  cleanupStack,
  eventually,
  startTestGateway,
  TOKEN,
} from "../../../tests/support/gateway.ts";
import { bundleHarnessPage } from "./bundle.ts";
import { DIST_DIR, ensurePluginBuilt } from "./build.ts";
import { startHarnessServer, type HarnessServer } from "./server.ts";

const CHROMIUM = process.env.KG_CHROMIUM ?? "/usr/bin/chromium";
const NODE = "harness-node";
// KG_UPDATE_SCREENSHOTS=1 writes the README's screenshots; otherwise they go to a temp dir.
const SHOTS_IN_DOCS = process.env.KG_UPDATE_SCREENSHOTS === "1";

interface Frame {
  refId?: string;
  name?: string;
  meta?: { type?: string; preferredVisualisationType?: string };
  length: number;
  fields: { name: string; type: string; labels?: Record<string, string>; values: unknown[] }[];
}
interface Harness {
  ready: boolean;
  error?: string;
  range: { from: number; to: number };
  intervalMs: number;
  testResult?: { status: string; message: string };
  lastResponse?: {
    data: Frame[];
    errors?: { refId?: string; message?: string; status?: number }[];
  };
  requests: { method: string; url: string; body?: { queries?: Record<string, unknown>[] } }[];
  settingsSeenByBrowser?: unknown;
  metricFindQuery?: (q: unknown) => Promise<{ text: string }[]>;
  renderErrors: string[];
}
declare const window: { harness: Harness };

const cleanup = cleanupStack();
let kube: TestCluster;
let ns: string;
let cg: CpuCgroup;
let observer: Observer;
let gateway: RunningGateway;
let server: HarnessServer;
let browser: Browser;
let page: Page;
let shots: string;
let loadStartMs: number;
let statBefore: CpuStat;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
const T0 = Date.now();

const col = (f: Frame | undefined, name: string) => {
  const field = f?.fields.find((x) => x.name === name);
  if (!field)
    throw new Error(`no field ${name} in ${JSON.stringify(f?.fields.map((x) => x.name))}`);
  return field.values;
};

async function apply(obj: unknown) {
  const r = await kube.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(obj));
  assert.equal(r.code, 0, r.stderr);
}

const harness = () => page.evaluate(() => window.harness);

/** Fills the plugin's ConfigEditor, clicks Save & test, returns the plugin's verdict. */
async function saveAndTest(url: string, token: string) {
  await page.evaluate(() => (window.harness.testResult = undefined));
  await page.locator("#kg-gateway-url").fill(url);
  const reset = page.getByRole("button", { name: "Reset" });
  if (await reset.isVisible()) await reset.click();
  await page.locator("#kg-api-token").fill(token);
  await page.getByRole("button", { name: "Save & test" }).click();
  await page.waitForFunction(() => window.harness.testResult !== undefined, undefined, {
    timeout: 30_000,
  });
  const h = await harness();
  await page.getByTestId("test-result").waitFor();
  return h.testResult ?? { status: "none", message: "" };
}

async function runQuery(how: "Run as panel" | "Run in Explore") {
  await page.evaluate(() => (window.harness.lastResponse = undefined));
  await page.getByRole("button", { name: how }).click();
  await page.waitForFunction(() => window.harness.lastResponse !== undefined, undefined, {
    timeout: 30_000,
  });
  const h = await harness();
  const res = h.lastResponse ?? { data: [] };
  return { ...res, sent: h.requests.at(-1)?.body?.queries?.[0] };
}

/** Types into one of the QueryEditor's name filters and commits it (Enter). */
async function nameFilter(name: string, value: string) {
  const input = page.getByRole("textbox", { name: `${name} filter` });
  await input.fill(value);
  await input.press("Enter");
}

async function shot(selector: string, file: string) {
  const errors = (await harness()).renderErrors;
  assert.deepEqual(errors, [], "frames failed to render");
  const path = join(shots, file);
  await page.locator(selector).screenshot({ path });
  const png = await readFile(path);
  assert.ok(png.length > 5_000, `${file}: screenshot of ${png.length} bytes`);
}

before(async () => {
  cleanup.defer(() => closeTestCluster());
  await ensurePluginBuilt((l) => console.log(`harness: ${l}`));
  const pageScript = await bundleHarnessPage();
  kube = await testCluster();
  ns = await kube.namespace("plugin-harness");

  // What the gateway will answer: objects in the real API server.
  const seen = { first: iso(T0 - 10 * 60_000), last: iso(T0 - 5 * 60_000) };
  await apply({
    apiVersion: "kernel.gossip.io/v1alpha1",
    kind: "KernelWhisper",
    metadata: { name: "checkout-throttled", namespace: ns },
    spec: {
      subject: { namespace: ns, pod: "checkout-7d9f", container: "app", node: NODE },
      signal: "cpu-throttling",
      severity: "warning",
      source: "observer",
      firstSeen: seen.first,
      lastSeen: seen.last,
      occurrences: 3,
      kernelTruth: {
        window: { start: seen.first, end: seen.last },
        quantities: [{ name: "throttledPeriodsRatio", value: 0.62, unit: "ratio" }],
      },
      metricsView: {
        window: { start: seen.first, end: seen.last },
        quantities: [{ name: "avgCpuUsagePercentOfLimit", value: 38, unit: "percent" }],
      },
    },
  });
  await apply({
    apiVersion: "kernel.gossip.io/v1alpha1",
    kind: "PodBirthCertificate",
    metadata: { name: "web-0-birth", namespace: ns },
    spec: {
      subject: { namespace: ns, pod: "web-0", node: NODE },
      startTime: iso(T0 - 4 * 60_000),
      timeline: [
        {
          offsetMicroseconds: 0,
          actor: "kubelet",
          action: "cgroup-created",
          detail: "cpu:/kubepods/web-0",
        },
        {
          offsetMicroseconds: 1200,
          actor: "runtime",
          action: "cgroup-file-written",
          detail: "cpu.cfs_quota_us=50000",
        },
        {
          offsetMicroseconds: 98000,
          actor: "container",
          action: "exec",
          detail: "/bin/app",
          pid: 4242,
        },
      ],
      kernelStats: {
        syscalls: 1234,
        namespacesCreated: { mnt: 1, pid: 1, net: 1 },
        cgroupsCreated: [{ hierarchy: "cpu", path: "/kubepods/web-0" }],
        cgroupFilesWritten: [{ path: "/kubepods/web-0/cpu.cfs_quota_us", value: "50000" }],
        forks: 7,
        execs: 3,
        totalDurationSeconds: 0.098,
      },
    },
  });

  // Kernel signals: a cgroup throttled by this kernel, read by the real observer.
  cg = await cpuCgroup({ quotaCores: 0.1 });
  cleanup.defer(() => cg.stop());
  observer = await startObserver({
    nodeName: NODE,
    args: ["--sample-interval-ms", "500", "--signals", "cgroups,cpu,runqueue"],
  });
  cleanup.defer(() => observer.stop());
  gateway = await startTestGateway({
    KUBECONFIG: kube.kubeconfig,
    KG_OBSERVER_URLS: `${NODE}=${observer.url}`,
    KG_OBSERVER_SCRAPE_INTERVAL: "500ms",
  });
  cleanup.defer(() => gateway.close());
  statBefore = await cg.cpuStat();
  loadStartMs = Date.now();
  await cg.startLoad();
  await eventually(
    "the gateway holds throttling points of the test cgroup",
    async () => {
      const res = await fetch(`${gateway.url}/api/v1/query`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({
          queries: [
            {
              refId: "A",
              type: "signal",
              signal: "cpu-throttling",
              intervalMs: 1000,
              range: { from: loadStartMs, to: Date.now() },
              filters: { cgroup: [cg.path] },
            },
          ],
        }),
      });
      const body = (await res.json()) as { results: Record<string, { frames: Frame[] }> };
      const n = body.results.A?.frames[0]?.fields[1]?.values.length ?? 0;
      return n >= 5 ? true : undefined;
    },
    60_000,
  );

  server = await startHarnessServer({
    distDir: DIST_DIR,
    pageScript,
    variables: { namespace: ns },
  });
  cleanup.defer(() => server.close());
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  cleanup.defer(() => browser.close());
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const consoleErrors: string[] = [];
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  await page.goto(server.url);
  await page.waitForFunction(
    () => window.harness.ready || window.harness.error !== undefined,
    undefined,
    {
      timeout: 60_000,
    },
  );
  const h = await harness();
  assert.equal(
    h.error,
    undefined,
    `harness page failed: ${h.error ?? ""} ${consoleErrors.join("; ")}`,
  );
  if (SHOTS_IN_DOCS) {
    shots = join(REPO_ROOT, "docs/screenshots");
    await mkdir(shots, { recursive: true });
  } else {
    shots = await mkdtemp(join(tmpdir(), "kg-plugin-shots-"));
    cleanup.defer(() => rm(shots, { recursive: true, force: true }));
  }
});

after(() => cleanup.run());

describe("plugin harness (not Grafana): built dist/module.js in Chromium against the real gateway", () => {
  test("dist/module.js is an AMD module whose every dependency the loader provides", async () => {
    const js = await readFile(join(DIST_DIR, "module.js"), "utf8");
    const deps = /define\((\[[^\]]*\])/.exec(js)?.[1];
    assert.ok(deps, "module.js does not call define([...], factory)");
    assert.deepEqual((JSON.parse(deps) as string[]).sort(), [
      "@grafana/data",
      "@grafana/runtime",
      "@grafana/ui",
      "module",
      "react",
      "rxjs",
    ]);
    await page.getByRole("heading", { name: "ConfigEditor" }).waitFor();
  });

  test("Save & test: an unreachable gateway is named as unreachable", async () => {
    const port = await freePort();
    const r = await saveAndTest(`http://127.0.0.1:${port}`, TOKEN);
    assert.equal(r.status, "error");
    assert.match(
      r.message,
      new RegExp(`^Cannot reach the gateway at http://127\\.0\\.0\\.1:${port} \\(502`),
    );
  });

  test("Save & test: a wrong token is named as refused (401)", async () => {
    const r = await saveAndTest(gateway.url, "not-the-token");
    assert.equal(r.status, "error");
    assert.equal(
      r.message,
      `The gateway at ${gateway.url} refused the API token (401: unknown bearer token). Use one of the gateway's KG_GATEWAY_TOKENS.`,
    );
  });

  test("Save & test: the right token → ready; the token never reaches the browser", async () => {
    const r = await saveAndTest(gateway.url, TOKEN);
    assert.equal(r.status, "success", r.message);
    assert.match(r.message, /^Gateway ready/);
    const h = await harness();
    assert.deepEqual(h.settingsSeenByBrowser, {
      jsonData: { gatewayUrl: gateway.url },
      secureJsonFields: { apiToken: true },
    });
    const everything = JSON.stringify(h) + (await page.content());
    assert.ok(!everything.includes(TOKEN), "the API token is visible in the page");
    const last = server.proxied.at(-1);
    assert.ok(last?.bearer && last.url === `${gateway.url}/readyz`, JSON.stringify(last));
    await shot("#config-editor", "plugin-config-editor.png");
  });

  test("whispers in Explore: log lines with timestamp, body, severity, labels", async () => {
    await page.evaluate((r) => (window.harness.range = r), {
      from: T0 - 3_600_000,
      to: Date.now(),
    });
    await page.getByRole("radio", { name: "Whispers" }).click();
    await nameFilter("namespace", "$namespace");
    const res = await runQuery("Run in Explore");
    assert.deepEqual(res.sent?.filters, { namespace: [ns] }, "template variable not substituted");
    assert.equal(res.sent.format, "logs");
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const f = res.data[0];
    assert.equal(f?.meta?.type, "log-lines");
    assert.equal(f.meta.preferredVisualisationType, "logs");
    assert.deepEqual(
      f.fields.map((x) => [x.name, x.type]),
      [
        ["timestamp", "time"],
        ["body", "string"],
        ["severity", "string"],
        ["id", "string"],
        ["labels", "other"],
      ],
    );
    assert.equal(f.length, 1);
    assert.equal(col(f, "timestamp")[0], Date.parse(iso(T0 - 5 * 60_000)));
    assert.equal(col(f, "severity")[0], "warning");
    assert.match(
      String(col(f, "body")[0]),
      /^cpu-throttling on .+checkout-7d9f\/app: throttledPeriodsRatio=0\.62 ratio/,
    );
    assert.deepEqual(col(f, "labels")[0], {
      signal: "cpu-throttling",
      severity: "warning",
      namespace: ns,
      pod: "checkout-7d9f",
      container: "app",
      node: NODE,
    });
    await shot("#query-editor", "plugin-query-editor.png");
    await shot("#frames", "plugin-frames-whispers-logs.png");
  });

  test("whispers in a panel: a table of the whisper's fields", async () => {
    const res = await runQuery("Run as panel");
    assert.equal(res.sent?.format, "table");
    const f = res.data[0];
    assert.equal(f?.meta?.preferredVisualisationType, "table");
    assert.deepEqual(col(f, "name"), ["checkout-throttled"]);
    assert.deepEqual(col(f, "occurrences"), [3]);
  });

  test("births as a table, with timelines", async () => {
    await page.getByRole("radio", { name: "Births" }).click();
    // The switch's styled label covers the input, as in Grafana: check it through the label.
    await page.getByRole("switch", { name: "Timelines" }).setChecked(true, { force: true });
    const res = await runQuery("Run as panel");
    assert.equal(res.sent?.type, "births");
    assert.equal(res.sent.timeline, true);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const table = res.data.find(
      (f) =>
        f.meta?.preferredVisualisationType === "table" && f.fields.some((x) => x.name === "podUID"),
    );
    assert.ok(table, JSON.stringify(res.data.map((f) => f.name)));
    assert.deepEqual(col(table, "pod"), ["web-0"]);
    const timeline = res.data.find((f) => f !== table);
    assert.ok(timeline, "no timeline frame");
    assert.equal(timeline.length, 3);
    await shot("#frames", "plugin-frames-births.png");
  });

  test("signal cpu-throttling of the cgroup this file throttles: the kernel's ratio", async () => {
    await page.getByRole("radio", { name: "Births" }).click(); // keep filters; switch below
    await page.getByRole("radio", { name: "Signal" }).click();
    await nameFilter("namespace", "");
    await nameFilter("cgroup", cg.path);
    await page.evaluate(
      (r) => {
        window.harness.range = r;
        window.harness.intervalMs = 1000;
      },
      { from: loadStartMs, to: Date.now() },
    );
    const res = await runQuery("Run as panel");
    const stat = await cg.cpuStat();
    assert.deepEqual(res.sent?.filters, { cgroup: [cg.path] });
    assert.equal(res.sent.signal, "cpu-throttling");
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal(res.data.length, 1, JSON.stringify(res.data.map((f) => f.fields[1]?.labels)));
    const f = res.data[0];
    assert.equal(f?.meta?.preferredVisualisationType, "graph");
    const value = f.fields[1];
    assert.deepEqual(value?.labels, { cgroup: cg.path, node: NODE });
    const vs = value.values as number[];
    assert.ok(vs.length >= 3, `too few points: ${JSON.stringify(vs)}`);
    for (const v of vs) assert.ok(v >= 0 && v <= 1, `ratio out of range: ${v}`);
    const kernelRatio =
      (stat.nrThrottled - statBefore.nrThrottled) / (stat.nrPeriods - statBefore.nrPeriods);
    assert.ok(kernelRatio > 0.8, `the kernel did not throttle: ${JSON.stringify(stat)}`);
    // One point per second (10 CFS periods each) is noisy on a crowded machine:
    // compare the points' mean with the kernel's ratio over the whole load.
    const mean = vs.reduce((a, b) => a + b, 0) / vs.length;
    assert.ok(
      Math.abs(mean - kernelRatio) < 0.15,
      `plugin frames ${mean} vs kernel ${kernelRatio}`,
    );
    await shot("#frames", "plugin-frames-signal.png");
  });

  test("truth-vs-metrics for the same cgroup: averaged CPU beside the throttled ratio", async () => {
    await page.getByRole("radio", { name: "Truth vs metrics" }).click();
    const res = await runQuery("Run as panel");
    assert.equal(res.sent?.type, "truth-vs-metrics");
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const f = res.data[0];
    assert.ok(f && f.length >= 1, JSON.stringify(res.data));
    const names = f.fields.map((x) => x.name).join(",");
    assert.match(names, /throttl/i);
  });

  test("annotations: whispers as time ranges with title, text and tags", async () => {
    await page.getByRole("radio", { name: "Annotations" }).click();
    await nameFilter("cgroup", "");
    await nameFilter("namespace", "$namespace");
    await page.evaluate((r) => (window.harness.range = r), {
      from: T0 - 3_600_000,
      to: Date.now(),
    });
    const res = await runQuery("Run as panel");
    const f = res.data[0];
    assert.deepEqual(col(f, "time"), [Date.parse(iso(T0 - 10 * 60_000))]);
    assert.deepEqual(col(f, "timeEnd"), [Date.parse(iso(T0 - 5 * 60_000))]);
    assert.deepEqual(col(f, "title"), ["warning: cpu-throttling"]);
    assert.ok((col(f, "tags")[0] as string[]).includes(`namespace:${ns}`));
    const h = await harness();
    assert.match(
      h.requests.at(-1)?.url ?? "",
      new RegExp(`/gateway/api/v1/annotations\\?from=\\d+&to=\\d+&namespace=${ns}$`),
    );
  });

  test("pixie: a shipped script by name, or own PxL; the gateway's 501 is shown", async () => {
    await page.getByRole("radio", { name: "Pixie" }).click();
    await page.getByRole("combobox", { name: "Pixie script" }).click();
    await page.getByRole("option", { name: "service-http" }).click();
    const named = await runQuery("Run as panel");
    assert.equal(named.sent?.script, "service-http");
    assert.equal(named.sent.pxl, undefined);
    assert.equal(named.errors?.[0]?.status, 501);
    await page
      .getByRole("textbox", { name: "PxL script" })
      .fill("px.display(px.DataFrame('conn_stats'))");
    const res = await runQuery("Run as panel");
    assert.equal(res.sent?.pxl, "px.display(px.DataFrame('conn_stats'))");
    assert.equal(res.sent.script, undefined);
    assert.equal(res.data.length, 0);
    assert.equal(res.errors?.[0]?.status, 501);
    assert.match(res.errors[0].message ?? "", /Pixie not configured/);
  });

  test("variables: namespaces and pods from the gateway", async () => {
    const namespaces = await page.evaluate(() => window.harness.metricFindQuery?.("namespaces"));
    assert.ok(
      namespaces?.some((v) => v.text === ns),
      JSON.stringify(namespaces),
    );
    const pods = await page.evaluate(() =>
      window.harness.metricFindQuery?.("pods?namespace=$namespace"),
    );
    assert.deepEqual(pods?.map((v) => v.text).sort(), ["checkout-7d9f", "web-0"]);
  });
});
