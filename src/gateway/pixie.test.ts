// The pull path against a SUBSTITUTE for Pixie's Vizier (Pixie cannot run
// here): a real gRPC server over TLS implementing VizierService/ExecuteScript
// from our vizier.proto (tests/support/pixie/substitute-vizier.ts). Proves what the gateway
// sends (script text, exec_funcs arguments from the query's range, cluster id,
// pixie-api-key) and how it decodes Pixie's documented stream (meta_data
// relations, multi-message row batches of every column type, eow/eos,
// several tables) into frames; errors (bad key, script error, unknown script,
// user scripts off) come back per query. It cannot prove that Pixie's engine
// computes these rows from these scripts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { makePki } from "../local/runtime/certs.ts";
import { closeTestCluster, testCluster } from "../../tests/env/test-cluster.ts";
import { readScript } from "../pixie/manifest.ts";
import type { RunningGateway } from "./gateway.ts";
import type { ExecuteScriptRequest } from "./pixie/proto.ts";
import {
  startSubstituteVizier,
  type SubstituteTable,
  type SubstituteVizier,
} from "../../tests/support/pixie/substitute-vizier.ts";
import type { Frame } from "./frames.ts";
import { apiClient, cleanupStack, startTestGateway } from "../../tests/support/gateway.ts";

const KEY = "px-api-test-key";
const CLUSTER = "7f6c3b1e-2a4d-4c8e-9b1a-0d2e3f405162";
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, ms
const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;

// What the substitute streams for pod_network: two pods, three windows, in a
// deliberately unsorted order and split across batches.
const POD_NETWORK: SubstituteTable = {
  name: "pod_network",
  columns: [
    { name: "time_", type: "TIME64NS", semantic: 2 },
    { name: "namespace", type: "STRING" },
    { name: "pod", type: "STRING" },
    { name: "rx_drops", type: "FLOAT64" },
    { name: "tx_drops", type: "FLOAT64" },
    { name: "rx_errors", type: "FLOAT64" },
    { name: "tx_errors", type: "FLOAT64" },
  ],
  rows: [
    [ns(T0 + 60_000), "shop", "checkout-1", 2.5, 0, 0.25, 0],
    [ns(T0), "shop", "checkout-1", 1.5, 0, 0, 0],
    [ns(T0), "shop", "cart-2", 0, 4, 0, 0.5],
    [ns(T0 + 120_000), "shop", "checkout-1", 0.5, 0, 0, 0],
    [ns(T0 + 60_000), "shop", "cart-2", 0, 3, 0, 0],
  ],
};

// Every column type Pixie's API defines, with values that need care: an
// int64 above 2^53, a negative one, a UPID in a uint128, sub-ms nanoseconds.
const ALL_TYPES: SubstituteTable = {
  name: "all_types",
  columns: [
    { name: "time_", type: "TIME64NS" },
    { name: "upid", type: "UINT128", semantic: 200 },
    { name: "ok", type: "BOOLEAN" },
    { name: "count", type: "INT64" },
    { name: "rss_bytes", type: "INT64", semantic: 800 },
    { name: "ratio", type: "FLOAT64" },
    { name: "note", type: "STRING" },
  ],
  rows: [
    [
      `${BigInt(T0) * 1_000_000n + 123_456n}`,
      { high: `${(7n << 32n) | 4242n}`, low: "9876543210" },
      true,
      "9007199254740993",
      "1048576",
      0.125,
      "first",
    ],
    [ns(T0 + 1000), { high: "0", low: "1" }, false, "-5", "0", -1.5, ""],
    [ns(T0 + 2000), { high: `${(1n << 32n) | 1n}`, low: "2" }, true, "0", "2048", 0, "third"],
  ],
};
const SECOND: SubstituteTable = {
  name: "second",
  columns: [{ name: "service", type: "STRING" }],
  rows: [["shop/front"]],
};

const cleanup = cleanupStack();
let vizier: SubstituteVizier;
let gw: RunningGateway;
let api: Awaited<ReturnType<typeof apiClient>>;
let caFile: string;
let kubeconfig: string;

function answer(req: ExecuteScriptRequest) {
  const fn = req.exec_funcs?.[0]?.func_name;
  if (req.query_str.includes("syntax_error_here")) {
    return {
      status: {
        code: 3,
        message: "Compilation failed",
        error_details: [
          {
            compiler_error: {
              line: 3,
              column: 7,
              message: "name 'syntax_error_here' is not defined",
            },
          },
        ],
      },
    };
  }
  if (fn === "pod_network") return { tables: [POD_NETWORK] };
  if (fn === "clusters") {
    return {
      tables: [
        {
          name: "clusters",
          columns: [
            { name: "cluster_id", type: "STRING" as const },
            { name: "cluster_name", type: "STRING" as const },
          ],
          rows: [[CLUSTER, "test-cluster"]],
        },
      ],
    };
  }
  if (fn === "pods") {
    return {
      tables: [
        {
          name: "pods",
          columns: [
            { name: "namespace", type: "STRING" as const },
            { name: "pod", type: "STRING" as const },
          ],
          rows: [
            ["shop", "checkout-1"],
            ["shop", "cart-2"],
            ["kube-system", "coredns-9"],
          ],
        },
      ],
    };
  }
  if (!fn) return { tables: [ALL_TYPES, SECOND] };
  return undefined;
}

async function gatewayWith(env: Record<string, string>) {
  const g = await startTestGateway({
    KUBECONFIG: kubeconfig,
    KG_PIXIE_ADDRESS: vizier.address.replace("127.0.0.1", "localhost"),
    KG_PIXIE_API_KEY: KEY,
    KG_PIXIE_CLUSTER_ID: CLUSTER,
    KG_PIXIE_CA_FILE: caFile,
    ...env,
  });
  cleanup.defer(() => g.close());
  return { g, api: await apiClient(g.url) };
}

before(async () => {
  cleanup.defer(() => closeTestCluster());
  const kube = await testCluster();
  kubeconfig = kube.kubeconfig;
  const dir = await mkdtemp(join(tmpdir(), "kg-pixie-"));
  cleanup.defer(() => rm(dir, { recursive: true, force: true }));
  const pki = await makePki(dir);
  caFile = pki.caCert;
  vizier = await startSubstituteVizier({
    apiKey: KEY,
    clusterId: CLUSTER,
    answer,
    tls: { cert: await readFile(pki.servingCert), key: await readFile(pki.servingKey) },
  });
  cleanup.defer(() => vizier.close());
  ({ g: gw, api } = await gatewayWith({ KG_PIXIE_ALLOW_USER_SCRIPTS: "true" }));
});
after(() => cleanup.run());

type Results = Record<string, { status: number; frames: Frame[]; error?: string; source?: string }>;
async function query(a: typeof api, queries: unknown[]) {
  const r = await a.call<{ results: Results }>("POST", "/api/v1/query", { queries });
  assert.equal(r.status, 200, r.text);
  return r.body.results;
}
const values = (f: Frame | undefined, name: string) =>
  f?.fields.find((x) => x.name === name)?.values;

describe("pixie pull path (substitute Vizier over TLS)", () => {
  test("a shipped script runs with the query's range and decodes into per-pod series", async () => {
    const before = vizier.requests.length;
    const range = { from: T0, to: T0 + 180_000 };
    const res = await query(api, [
      { refId: "N", type: "pixie", script: "pod-network", range, intervalMs: 60_000 },
    ]);
    const sent = vizier.requests[before];
    assert.ok(sent, "the substitute saw the request");
    assert.equal(sent.apiKey, KEY);
    assert.equal(sent.request.cluster_id, CLUSTER);
    assert.equal(sent.request.query_str, readScript("pod_network.pxl"));
    assert.equal(sent.request.query_name, "kernel-gossip/pod-network");
    assert.deepEqual(sent.request.exec_funcs, [
      {
        func_name: "pod_network",
        output_table_prefix: "pod_network",
        arg_values: [
          { name: "start_time", value: ns(T0) },
          { name: "end_time", value: ns(T0 + 180_000) },
          { name: "window_ns", value: ns(60_000) },
        ],
      },
    ]);
    const n = res.N;
    assert.equal(n?.status, 200, n?.error);
    // 2 pods × 4 value columns, sorted by pod; times ascending in each.
    assert.equal(n.frames.length, 8);
    const rx = n.frames.find((f) => f.name === "shop/checkout-1 rx_drops");
    assert.deepEqual(values(rx, "time"), [T0, T0 + 60_000, T0 + 120_000]);
    assert.deepEqual(values(rx, "rx_drops"), [1.5, 2.5, 0.5]);
    const v = rx?.fields[1];
    assert.equal(v?.config.unit, "pps");
    assert.deepEqual(v.labels, { namespace: "shop", pod: "checkout-1", source: "pixie" });
    assert.equal(rx?.fields[0]?.config.interval, 60_000);
    const tx = n.frames.find((f) => f.name === "shop/cart-2 tx_drops");
    assert.deepEqual(values(tx, "tx_drops"), [4, 3]);
    assert.equal(
      rx.meta?.custom?.pixieQueryId,
      `substitute-query-${vizier.requests.filter((r) => r.apiKey === KEY).length}`,
    );
  });

  test("filters select pods; format table gives Pixie's table as it is", async () => {
    const range = { from: T0, to: T0 + 180_000 };
    const res = await query(api, [
      {
        refId: "F",
        type: "pixie",
        script: "pod-network",
        range,
        intervalMs: 60_000,
        filters: { pod: ["cart-2"] },
      },
      {
        refId: "T",
        type: "pixie",
        script: "pod-network",
        range,
        intervalMs: 60_000,
        format: "table",
      },
    ]);
    assert.deepEqual(
      res.F?.frames.map((f) => f.name),
      [
        "shop/cart-2 rx_drops",
        "shop/cart-2 tx_drops",
        "shop/cart-2 rx_errors",
        "shop/cart-2 tx_errors",
      ],
    );
    const t = res.T?.frames[0];
    assert.equal(res.T?.frames.length, 1);
    assert.deepEqual(
      t?.fields.map((f) => [f.name, f.type]),
      [
        ["time_", "time"],
        ["namespace", "string"],
        ["pod", "string"],
        ["rx_drops", "number"],
        ["tx_drops", "number"],
        ["rx_errors", "number"],
        ["tx_errors", "number"],
      ],
    );
    assert.deepEqual(
      values(t, "pod"),
      POD_NETWORK.rows.map((r) => r[2]),
    );
    assert.equal(t.length, 5);
  });

  test("a user script: range tokens substituted, every column type and several tables decoded", async () => {
    const before = vizier.requests.length;
    const pxl =
      "import px\ndf = px.DataFrame('process_stats', start_time=__time_from, end_time=__time_to)\npx.display(df)\n";
    const res = await query(api, [
      { refId: "U", type: "pixie", pxl, range: { from: T0, to: T0 + 5000 } },
    ]);
    const sent = vizier.requests[before]?.request;
    assert.equal(
      sent?.query_str,
      pxl.replace("__time_from", ns(T0)).replace("__time_to", ns(T0 + 5000)),
    );
    assert.equal(sent.exec_funcs, undefined);
    const u = res.U;
    assert.equal(u?.status, 200, u?.error);
    assert.deepEqual(
      u.frames.map((f) => f.name),
      ["all_types", "second"],
    );
    const t = u.frames[0];
    assert.deepEqual(values(t, "time_"), [T0 + 0.123456, T0 + 1000, T0 + 2000]);
    assert.deepEqual(values(t, "upid"), ["7:4242:9876543210", "0:0:1", "1:1:2"]);
    assert.deepEqual(values(t, "ok"), [true, false, true]);
    assert.deepEqual(values(t, "count"), [9007199254740992, -5, 0]); // int64 → JSON number (2^53 + 1 rounds)
    assert.deepEqual(values(t, "ratio"), [0.125, -1.5, 0]);
    assert.deepEqual(values(t, "note"), ["first", "", "third"]);
    assert.equal(t?.fields.find((f) => f.name === "rss_bytes")?.config.unit, "bytes");
    assert.deepEqual(values(u.frames[1], "service"), ["shop/front"]);
    assert.deepEqual(t.meta?.custom?.stats, {
      executionNs: 1_500_000,
      compilationNs: 500_000,
      bytes: 4096,
      records: 12,
    });
  });

  test("Pixie's errors come back per query, clearly; the rest of the batch answers", async () => {
    const range = { from: T0, to: T0 + 60_000 };
    const res = await query(api, [
      { refId: "E", type: "pixie", pxl: "import px\nx = 1\nsyntax_error_here\n", range },
      { refId: "X", type: "pixie", script: "no-such-script", range },
      { refId: "C", type: "pixie", script: "pod-network", cluster: "other-cluster", range },
      { refId: "W", type: "whispers", range },
    ]);
    assert.equal(res.E?.status, 400);
    assert.equal(res.E.source, "pixie");
    assert.match(
      res.E.error ?? "",
      /INVALID_ARGUMENT: Compilation failed; line 3, column 7: name 'syntax_error_here' is not defined/,
    );
    assert.equal(res.X?.status, 404);
    assert.match(res.X.error ?? "", /no shipped script "no-such-script"; known: pod-network/);
    assert.equal(res.C?.status, 400);
    assert.match(res.C.error ?? "", /cluster "other-cluster" is not configured/);
    assert.equal(res.W?.status, 200);
    const bad = await api.call("POST", "/api/v1/query", {
      queries: [{ refId: "B", type: "pixie", script: "pod-network", pxl: "x", range }],
    });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /queries\[0\]\.script/);
  });

  test("a wrong API key is UNAUTHENTICATED → 401; user scripts are off by default → 403", async () => {
    const { api: wrong } = await gatewayWith({ KG_PIXIE_API_KEY: "not-the-key" });
    const range = { from: T0, to: T0 + 60_000 };
    const res = await query(wrong, [
      { refId: "K", type: "pixie", script: "pod-network", range },
      { refId: "U", type: "pixie", pxl: "import px", range },
    ]);
    assert.equal(res.K?.status, 401);
    assert.match(
      res.K.error ?? "",
      /Pixie ExecuteScript failed \(UNAUTHENTICATED\): invalid API key/,
    );
    assert.equal(res.U?.status, 403);
    assert.match(res.U.error ?? "", /KG_PIXIE_ALLOW_USER_SCRIPTS/);
    const ready = await wrong.call<{ sources: { name: string; state: string }[] }>(
      "GET",
      "/readyz",
    );
    assert.equal(ready.body.sources.find((s) => s.name === "pixie")?.state, "degraded");
  });

  test("variables: clusters, namespaces and pods come from scripts through the same path", async () => {
    const c = await api.call<{ values: string[] }>("GET", "/api/v1/variables/pixie-clusters");
    assert.deepEqual(c.body.values, [CLUSTER]);
    const n = await api.call<{ values: string[] }>("GET", "/api/v1/variables/pixie-namespaces");
    assert.deepEqual(n.body.values, ["kube-system", "shop"]);
    const p = await api.call<{ values: string[] }>(
      "GET",
      "/api/v1/variables/pixie-pods?namespace=shop",
    );
    assert.deepEqual(p.body.values, ["cart-2", "checkout-1"]);
    const fns = vizier.requests.slice(-3).map((r) => r.request.exec_funcs?.[0]?.func_name);
    assert.deepEqual(fns.sort(), ["clusters", "pods", "pods"]);
    const args = vizier.requests.at(-1)?.request.exec_funcs?.[0]?.arg_values ?? [];
    const span = BigInt(args[1]?.value ?? "0") - BigInt(args[0]?.value ?? "0");
    assert.equal(span, 15n * 60n * 1_000_000_000n);
    assert.ok(gw);
  });
});

// Pixie's own Python client (pxapi, PyPI) as a CONTRACT PEER of the substitute:
// pxapi uses Pixie's real generated protobufs, so if it reads back exactly the
// tables the substitute streamed, and the substitute reads pxapi's request, the
// substitute follows Pixie's wire format — which is what makes the gateway
// tests above meaningful. It cannot prove Pixie Cloud's routing or PxL itself.
export const PXAPI = "pxapi==0.9.0";
const VENV = join(process.env.KG_CACHE ?? "/var/cache/kernel-gossip", "pxapi-venv");

const run = (cmd: string, args: string[], input?: string) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) => {
    const child = execFile(
      cmd,
      args,
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
      (e, out, err) =>
        resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, out, err }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });

/** A venv with pxapi (cached under KG_CACHE); the reason when it cannot be made. */
async function pxapiPython(): Promise<{ python?: string; why?: string }> {
  const python = join(VENV, "bin", "python");
  if (!existsSync(python)) {
    const v = await run("python3", ["-m", "venv", VENV]);
    if (v.code !== 0) return { why: `python3 -m venv failed: ${v.err.slice(-300)}` };
  }
  if ((await run(python, ["-c", "import pxapi"])).code === 0) return { python };
  const pip = await run(python, ["-m", "pip", "install", "--quiet", PXAPI]);
  if ((await run(python, ["-c", "import pxapi"])).code === 0) return { python };
  return { why: `pip install ${PXAPI} failed (${pip.code}): ${pip.err.slice(-500)}` };
}

describe("contract peer: Pixie's Python client (pxapi) against the substitute Vizier", () => {
  let py: { python?: string; why?: string };
  const peer = async (key: string, pxl: string, tables: Record<string, string[]>) => {
    const r = await run(
      py.python ?? "",
      [
        join(import.meta.dirname, "../../tests/support/pixie/pxapi_peer.py"),
        vizier.address.replace("127.0.0.1", "localhost"),
        caFile,
        key,
        CLUSTER,
        JSON.stringify(tables),
      ],
      pxl,
    );
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as {
      tables?: Record<string, (string | number | boolean)[][]>;
      error?: string;
    };
  };

  before(async () => {
    py = await pxapiPython();
  });

  test("pxapi reads every column type back exactly as the substitute streamed it", async (t) => {
    if (!py.python) {
      t.skip(`pxapi unavailable: ${py.why ?? ""}`);
      return;
    }
    const before = vizier.requests.length;
    const pxl = "import px\npx.display(px.DataFrame('process_stats'))\n";
    const r = await peer(KEY, pxl, {
      all_types: ALL_TYPES.columns.map((c) => c.name),
      second: ["service"],
    });
    assert.equal(r.error, undefined);
    const uuid = (high: bigint, low: bigint) => {
      const h = ((high << 64n) | low).toString(16).padStart(32, "0");
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    };
    const want = ALL_TYPES.rows.map((row) =>
      row.map((c, i) => {
        const col = ALL_TYPES.columns[i];
        if (typeof c === "object") return uuid(BigInt(c.high), BigInt(c.low));
        if (col?.type === "INT64" || col?.type === "TIME64NS") return String(c);
        return c;
      }),
    );
    assert.deepEqual(r.tables?.all_types, want);
    assert.deepEqual(r.tables.second, [["shop/front"]]);
    const seen = vizier.requests[before];
    assert.equal(seen?.apiKey, KEY);
    assert.equal(seen.request.query_str, pxl);
    assert.equal(seen.request.cluster_id, CLUSTER);
  });

  test("pxapi sees the substitute's errors as Pixie's: bad key, compiler error with line", async (t) => {
    if (!py.python) {
      t.skip(`pxapi unavailable: ${py.why ?? ""}`);
      return;
    }
    const bad = await peer("wrong-key", "import px\n", { x: [] });
    assert.match(bad.error ?? "", /UNAUTHENTICATED|invalid API key/);
    const script = await peer(KEY, "import px\nx = 1\nsyntax_error_here\n", { x: [] });
    assert.match(script.error ?? "", /PxL, line 3.*name 'syntax_error_here' is not defined/s);
  });
});
