// The push path, fed by the REAL OpenTelemetry JS SDK and exporters
// (@opentelemetry/sdk-metrics with exporter-metrics-otlp-proto, gzip, and
// exporter-metrics-otlp-http, JSON): the gateway stores their points, answers
// signal queries with them beside the observers' series (labels source=pixie),
// rejects what it does not store with a partial success, and forwards Pixie
// findings to the real operator, which writes KernelWhispers with source pixie
// on the real API server. Also: bearer auth, body limits, gzip bombs, 400 on
// malformed protobuf and JSON, 415 on other content types.
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { OTLPMetricExporter as ProtoExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPMetricExporter as JsonExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { RunningOperator } from "../operator/operator.ts";
import { listWhispers, startTestOperator, testConfig } from "../../tests/support/operator.ts";
import type { Frame } from "./frames.ts";
import type { RunningGateway } from "./gateway.ts";
import {
  apiClient,
  cleanupStack,
  eventually,
  startTestGateway,
  TOKEN,
} from "../../tests/support/gateway.ts";

const OP_TOKEN = `op-${process.pid}`;
const DROPS = "kernel_gossip.pixie.pod.network.drops";
const RETRANSMITS = "kernel_gossip.pixie.pod.tcp.retransmits";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanup = cleanupStack();
let kube: TestCluster;
let ns: string;
let op: RunningOperator;
let gw: RunningGateway;
let api: Awaited<ReturnType<typeof apiClient>>;

/** One pod's Pixie export, as a real SDK pipeline; `exports` keeps what the exporter was given. */
function pixiePod(pod: string, exporter: PushMetricExporter) {
  const exports: ResourceMetrics[] = [];
  const spy: PushMetricExporter = {
    export: (m, cb) => {
      exports.push(m);
      exporter.export(m, cb);
    },
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
  };
  const reader = new PeriodicExportingMetricReader({
    exporter: spy,
    exportIntervalMillis: 3_600_000,
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({
      "service.name": "kernel-gossip-pixie",
      "instrumentation.provider": "pixie",
      "k8s.namespace.name": ns,
      "k8s.pod.name": pod,
    }),
    readers: [reader],
  });
  const meter = provider.getMeter("pixie-export-twin");
  const now: { rx: number; tx: number; retransmits?: number } = { rx: 0, tx: 0 };
  meter.createObservableGauge(DROPS).addCallback((r) => {
    r.observe(now.rx, { direction: "rx" });
    r.observe(now.tx, { direction: "tx" });
  });
  meter.createObservableGauge(RETRANSMITS).addCallback((r) => {
    if (now.retransmits !== undefined) r.observe(now.retransmits);
  });
  const latency = meter.createHistogram("http.server.duration");
  return {
    exports,
    latency,
    async push(v: { rx: number; tx: number; retransmits?: number }) {
      Object.assign(now, v);
      await reader.forceFlush();
    },
    shutdown: () => provider.shutdown(),
  };
}

/** Time (ms) of one metric's point with these attributes in one export. */
function pointTime(m: ResourceMetrics, metric: string, attrs: Record<string, string> = {}): number {
  for (const sm of m.scopeMetrics) {
    for (const md of sm.metrics) {
      if (md.descriptor.name !== metric) continue;
      for (const p of md.dataPoints) {
        if (Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)) {
          return p.endTime[0] * 1000 + p.endTime[1] / 1e6;
        }
      }
    }
  }
  throw new Error(`no ${metric} point in export`);
}

before(async () => {
  cleanup.defer(() => closeTestCluster());
  kube = await testCluster();
  ns = `kg-otlp-${process.pid}`;
  const made = await kube.kubectl(["create", "namespace", ns]);
  assert.equal(made.code, 0, made.stderr);
  cleanup.defer(() => kube.kubectl(["delete", "namespace", ns, "--wait=false"]));
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => {
      c.webhooks.auth.token = OP_TOKEN;
    }),
  );
  cleanup.defer(() => op.stop());
  gw = await startTestGateway({
    KUBECONFIG: kube.kubeconfig,
    KG_OPERATOR_URL: op.url,
    KG_OPERATOR_TOKEN: OP_TOKEN,
    // The test forwards by calling forwardNow(), so no timer races it.
    KG_PIXIE_WHISPER_EVERY: "1h",
    KG_OTLP_INTERVAL: "1m",
  });
  cleanup.defer(() => gw.close());
  api = await apiClient(gw.url);
});
after(() => cleanup.run());

describe("OTLP push path (real OpenTelemetry JS exporters)", () => {
  let a: ReturnType<typeof pixiePod>;
  let b: ReturnType<typeof pixiePod>;

  test("protobuf (gzip) and JSON exports land in packet-drops and tcp-retransmits signal frames", async () => {
    const headers = { Authorization: `Bearer ${TOKEN}` };
    a = pixiePod(
      "checkout-1",
      new ProtoExporter({ url: `${gw.url}/v1/metrics`, headers, compression: "gzip" as never }),
    );
    b = pixiePod("cart-2", new JsonExporter({ url: `${gw.url}/v1/metrics`, headers }));
    cleanup.defer(() => a.shutdown());
    cleanup.defer(() => b.shutdown());
    const steps = [
      { a: { rx: 10, tx: 0, retransmits: 3 }, b: { rx: 5, tx: 1 } },
      { a: { rx: 60, tx: 0, retransmits: 4 }, b: { rx: 5, tx: 1 } },
      { a: { rx: 160, tx: 40, retransmits: 5 }, b: { rx: 25, tx: 1 } },
    ];
    a.latency.record(12.5, { "http.route": "/pay" });
    for (const s of steps) {
      await a.push(s.a);
      await b.push(s.b);
      await sleep(1100);
    }
    assert.equal(a.exports.length, 3);
    assert.equal(b.exports.length, 3);
    const [a1, , a3] = a.exports.map((e) => pointTime(e, DROPS, { direction: "rx" }));
    const [b1, , b3] = b.exports.map((e) => pointTime(e, DROPS, { direction: "rx" }));
    const [r1, , r3] = a.exports.map((e) => pointTime(e, RETRANSMITS));
    assert.ok(a1 && a3 && b1 && b3 && r1 && r3);

    const range = { from: Math.floor(a1) - 1000, to: Math.ceil(Math.max(a3, b3)) + 1000 };
    const r = await api.call<{
      results: Record<string, { status: number; frames: Frame[]; error?: string }>;
    }>("POST", "/api/v1/query", {
      queries: [
        {
          refId: "D",
          type: "signal",
          signal: "packet-drops",
          range,
          intervalMs: 1000,
          filters: { namespace: [ns] },
        },
        {
          refId: "R",
          type: "signal",
          signal: "tcp-retransmits",
          range,
          intervalMs: 1000,
          filters: { namespace: [ns], pod: ["checkout-1"] },
        },
      ],
    });
    assert.equal(r.status, 200);
    const d = r.body.results.D;
    assert.equal(d?.status, 200, d?.error);
    const byName = new Map(d.frames.map((f) => [f.fields[1]?.config.displayNameFromDS, f]));
    assert.deepEqual([...byName.keys()].sort(), [
      `${ns}/cart-2 rx pixie`,
      `${ns}/cart-2 tx pixie`,
      `${ns}/checkout-1 rx pixie`,
      `${ns}/checkout-1 tx pixie`,
    ]);
    const last = (name: string) => {
      const v = byName.get(name)?.fields[1]?.values ?? [];
      return v[v.length - 1] as number;
    };
    // A 240 s look-back (4 × the 60 s interval) holds all three readings: last minus first.
    const close = (got: number, want: number) =>
      assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, want), `${got} != ${want}`);
    close(last(`${ns}/checkout-1 rx pixie`), (160 - 10) / ((a3 - a1) / 1000));
    close(last(`${ns}/checkout-1 tx pixie`), 40 / ((a3 - a1) / 1000));
    close(last(`${ns}/cart-2 rx pixie`), 20 / ((b3 - b1) / 1000));
    assert.equal(last(`${ns}/cart-2 tx pixie`), 0);
    const f = byName.get(`${ns}/checkout-1 rx pixie`);
    assert.deepEqual(f?.fields[1]?.labels, {
      namespace: ns,
      pod: "checkout-1",
      direction: "rx",
      source: "pixie",
    });
    assert.equal(f.fields[1].config.unit, "pps");
    // Delta gauges are added up: 3 + 4 + 5; the first period's start is unknown, so 4 + 5 count.
    const rt = r.body.results.R?.frames[0]?.fields[1]?.values ?? [];
    close(rt[rt.length - 1] as number, (4 + 5) / ((r3 - r1) / 1000));
  });

  test("histogram points are rejected with a partial success, and counted", async () => {
    const m = await api.call<string>("GET", "/metrics", undefined, { token: null });
    assert.match(m.text, /kernel_gossip_gateway_otlp_points_total\{outcome="rejected"\} [1-9]/);
    assert.match(m.text, /kernel_gossip_gateway_otlp_points_total\{outcome="stored"\} [1-9]/);
  });

  test("variables list the pods Pixie pushed", async () => {
    const p = await api.call<{ values: string[] }>("GET", `/api/v1/variables/pods?namespace=${ns}`);
    assert.deepEqual(p.body.values, ["cart-2", "checkout-1"]);
  });

  test("the gateway forwards Pixie's drops to the operator, which writes whispers (source pixie)", async () => {
    assert.ok(gw.forwardNow);
    await gw.forwardNow();
    const ws = await eventually(
      "pixie whispers",
      async () => {
        const all = (await listWhispers(kube, ns)).filter((w) => w.spec.source === "pixie");
        return all.length >= 3 ? all : undefined;
      },
      20_000,
    );
    const find = (pod: string, signal: string) =>
      ws.find((w) => w.spec.subject.pod === pod && w.spec.signal === signal);
    const drops = find("checkout-1", "packet-drops");
    assert.ok(drops, JSON.stringify(ws.map((w) => w.spec)));
    // rx 160 - 10 plus tx 40 - 0 over the 5-minute window.
    assert.deepEqual(drops.spec.kernelTruth.quantities, [
      { name: "drops", value: 190, unit: "packets" },
    ]);
    assert.equal(drops.spec.severity, "warning");
    const cart = find("cart-2", "packet-drops");
    assert.deepEqual(cart?.spec.kernelTruth.quantities, [
      { name: "drops", value: 20, unit: "packets" },
    ]);
    assert.equal(cart.spec.severity, "info");
    const rt = find("checkout-1", "tcp-retransmits");
    assert.deepEqual(rt?.spec.kernelTruth.quantities, [
      { name: "retransmits", value: 9, unit: "count" },
    ]);
    const m = await api.call<string>("GET", "/metrics", undefined, { token: null });
    assert.match(m.text, /kernel_gossip_gateway_pixie_forwards_total\{outcome="sent"\} 1/);
    // Nothing new since: a second run forwards nothing.
    await gw.forwardNow();
    const m2 = await api.call<string>("GET", "/metrics", undefined, { token: null });
    assert.match(m2.text, /kernel_gossip_gateway_pixie_forwards_total\{outcome="sent"\} 1/);
  });

  test("auth, limits and malformed payloads", async () => {
    const post = (
      body: Buffer | string,
      headers: Record<string, string>,
      token: string | null = TOKEN,
    ) =>
      fetch(`${gw.url}/v1/metrics`, {
        method: "POST",
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
        body: typeof body === "string" ? body : new Uint8Array(body),
      });
    const noToken = await post("{}", { "content-type": "application/json" }, null);
    assert.equal(noToken.status, 401);
    const wrong = await post("{}", { "content-type": "application/json" }, "nope");
    assert.equal(wrong.status, 401);

    const empty = await api.call<object>("POST", "/v1/metrics", {});
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, {});

    const badJson = await api.call<{ code: number; message: string }>("POST", "/v1/metrics", {
      resourceMetrics: 5,
    });
    assert.equal(badJson.status, 400);
    assert.deepEqual(badJson.body, { code: 3, message: "resourceMetrics must be an array" });
    const notJson = await post("{nope", { "content-type": "application/json" });
    assert.equal(notJson.status, 400);
    assert.match(((await notJson.json()) as { message: string }).message, /body is not JSON/);

    const badProto = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), {
      "content-type": "application/x-protobuf",
    });
    assert.equal(badProto.status, 400);
    assert.equal(badProto.headers.get("content-type"), "application/x-protobuf");
    const statusBytes = Buffer.from(await badProto.arrayBuffer());
    assert.match(statusBytes.toString("latin1"), /not an ExportMetricsServiceRequest/);
    assert.equal(statusBytes[0], 0x08); // field 1 (code), varint
    assert.equal(statusBytes[1], 3); // INVALID_ARGUMENT

    const text = await post("hello", { "content-type": "text/plain" });
    assert.equal(text.status, 415);
    const big = await post(Buffer.alloc(5 * 1024 * 1024, 0x20), {
      "content-type": "application/json",
    });
    assert.equal(big.status, 413);
    const bomb = await post(gzipSync(Buffer.alloc(40 * 1024 * 1024, 0x20)), {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    assert.equal(bomb.status, 413);
    assert.match(((await bomb.json()) as { message: string }).message, /inflates past/);
    const notGzip = await post("{}", {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    assert.equal(notGzip.status, 400);
    const br = await post("{}", { "content-type": "application/json", "content-encoding": "br" });
    assert.equal(br.status, 415);
  });
});
