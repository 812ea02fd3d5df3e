// The gateway against the real API server: KernelWhispers and
// PodBirthCertificates this file creates come back as Grafana frames,
// annotations and variable values; the informers follow later changes; bad
// input is refused naming the field; a failing source fails only its own
// queries. The gateway runs with the read-only RBAC it is deployed with, and
// every answer is validated against its /openapi.json.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort } from "../local/runtime/cluster.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { Frame } from "./frames.ts";
import type { RunningGateway } from "./gateway.ts";
import {
  apiClient,
  cleanupStack,
  eventually,
  readOnlyKubeconfig,
  startTestGateway,
  TOKEN,
} from "../../tests/support/gateway.ts";

type Client = Awaited<ReturnType<typeof apiClient>>;
interface QueryAnswer {
  results: Record<string, { status: number; frames: Frame[]; error?: string; source?: string }>;
}

const T = (hhmm: string) => `2026-11-25T${hhmm}:00Z`;
const ms = (hhmm: string) => Date.parse(T(hhmm));

const col = (f: Frame | undefined, name: string) => {
  const field = f?.fields.find((x) => x.name === name);
  if (!field)
    throw new Error(`frame has no field ${name}: ${JSON.stringify(f?.fields.map((x) => x.name))}`);
  return field.values;
};

function whisper(ns: string, name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: "kernel.gossip.io/v1alpha1",
    kind: "KernelWhisper",
    metadata: { name, namespace: ns },
    spec: {
      source: "observer",
      occurrences: 1,
      kernelTruth: {
        window: { start: spec.firstSeen, end: spec.lastSeen },
        quantities: [{ name: "count", value: 1, unit: "count" }],
      },
      ...spec,
    },
  };
}

function birth(ns: string, name: string, pod: string, start: string, node: string) {
  return {
    apiVersion: "kernel.gossip.io/v1alpha1",
    kind: "PodBirthCertificate",
    metadata: { name, namespace: ns },
    spec: {
      subject: { namespace: ns, pod, node },
      startTime: start,
      timeline: [
        {
          offsetMicroseconds: 0,
          actor: "kubelet",
          action: "cgroup-created",
          detail: `cpu:/kubepods/${pod}`,
        },
        {
          offsetMicroseconds: 1500,
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
        cgroupsCreated: [{ hierarchy: "cpu", path: `/kubepods/${pod}` }],
        cgroupFilesWritten: [{ path: `/kubepods/${pod}/cpu.cfs_quota_us`, value: "50000" }],
        forks: 7,
        execs: 3,
        totalDurationSeconds: 0.098,
      },
    },
  };
}

let kube: TestCluster;
let ns: string;
let other: string;
let dir: string;
let gw: RunningGateway;
let api: Client;
const cleanup = cleanupStack();
let identity: string;

const apply = async (obj: unknown) => {
  const r = await kube.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(obj));
  assert.equal(r.code, 0, r.stderr);
};

const query = async (queries: unknown[]) => {
  const r = await api.call<QueryAnswer>("POST", "/api/v1/query", { queries });
  assert.equal(r.status, 200, r.text);
  return r.body.results;
};

const range = { from: ms("09:00"), to: ms("10:30") };

before(async () => {
  cleanup.defer(() => closeTestCluster());
  kube = await testCluster();
  ns = await kube.namespace("gw-api");
  other = await kube.namespace("gw-other");
  dir = await mkdtemp(join(tmpdir(), "kg-gw-api-"));
  cleanup.defer(() => rm(dir, { recursive: true, force: true }));
  await apply(
    whisper(ns, "checkout-throttled", {
      subject: { namespace: ns, pod: "checkout-7d9f", container: "app", node: "node-a" },
      signal: "cpu-throttling",
      severity: "warning",
      firstSeen: T("10:00"),
      lastSeen: T("10:05"),
      occurrences: 3,
      kernelTruth: {
        window: { start: T("10:00"), end: T("10:05") },
        quantities: [{ name: "throttledPeriodsRatio", value: 0.62, unit: "ratio" }],
      },
      metricsView: {
        window: { start: T("10:00"), end: T("10:05") },
        quantities: [{ name: "avgCpuUsagePercentOfLimit", value: 38, unit: "percent" }],
      },
    }),
  );
  const patched = await kube.kubectl([
    "patch",
    "kw",
    "checkout-throttled",
    "-n",
    ns,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        phase: "Active",
        insight: "Throttled in 62% of periods while averaging 38% of its limit.",
        recommendation: {
          action: "raise-cpu-limit",
          rationale: "quota exhausted early in each period",
        },
      },
    }),
  ]);
  assert.equal(patched.code, 0, patched.stderr);
  await apply(
    whisper(ns, "api-oom", {
      subject: { namespace: ns, pod: "api-0", container: "api", node: "node-b" },
      signal: "oom-kill",
      severity: "critical",
      firstSeen: T("10:10"),
      lastSeen: T("10:10"),
    }),
  );
  await apply(
    whisper(ns, "batch-drops", {
      subject: { cgroupPath: "/system.slice/batch.service", node: "node-a" },
      signal: "packet-drops",
      severity: "info",
      firstSeen: T("11:00"),
      lastSeen: T("11:30"),
    }),
  );
  await apply(
    whisper(other, "elsewhere", {
      subject: { namespace: other, pod: "x-0", node: "node-c" },
      signal: "tcp-resets",
      severity: "warning",
      firstSeen: T("10:00"),
      lastSeen: T("10:01"),
    }),
  );
  await apply(birth(ns, "web-0-birth", "web-0", T("10:00"), "node-a"));
  await apply(birth(ns, "web-1-birth", "web-1", T("10:20"), "node-b"));

  const ro = await readOnlyKubeconfig(kube, ns, dir);
  cleanup.defer(ro.cleanup);
  identity = ro.user;
  // Nothing listens on this port: the Prometheus source fails like a down Prometheus.
  const deadPrometheus = `http://127.0.0.1:${await freePort()}`;
  gw = await startTestGateway({ KUBECONFIG: ro.kubeconfig, KG_PROMETHEUS_URL: deadPrometheus });
  cleanup.defer(() => gw.close());
  api = await apiClient(gw.url);
  await eventually(
    "informer caches synced with this file's objects",
    async () => {
      const r = await api.call<{ ready: boolean }>("GET", "/readyz", undefined, { token: null });
      const names = gw.ctx.sources.whispers.list().map((w) => w.metadata.name);
      return r.status === 200 &&
        names.includes("batch-drops") &&
        gw.ctx.sources.births.list().length >= 2
        ? true
        : undefined;
    },
    30_000,
  );
});

after(() => cleanup.run());

describe("service", () => {
  test("/healthz, /readyz and /metrics answer without a token; readyz lists every source", async () => {
    const h = await api.call<{ status: string }>("GET", "/healthz", undefined, { token: null });
    assert.equal(h.status, 200);
    assert.equal(h.body.status, "ok");
    const r = await api.call<{
      ready: boolean;
      sources: { name: string; state: string; message?: string }[];
    }>("GET", "/readyz", undefined, { token: null });
    assert.equal(r.status, 200);
    assert.equal(r.body.ready, true);
    const state = Object.fromEntries(r.body.sources.map((s) => [s.name, s.state]));
    assert.equal(state.kernelwhispers, "ready");
    assert.equal(state.podbirthcertificates, "ready");
    assert.equal(state.pixie, "disabled");
    assert.ok(["starting", "degraded"].includes(state.prometheus ?? ""), JSON.stringify(r.body));
    const m = await api.call<string>("GET", "/metrics", undefined, { token: null });
    assert.equal(m.status, 200);
    assert.match(
      m.text,
      /kernel_gossip_gateway_requests_total\{route="\/readyz",method="GET",status="200"\} \d+/,
    );
    assert.match(m.text, /kernel_gossip_gateway_cache_objects\{kind="kernelwhispers"\} [1-9]/);
    assert.match(m.text, /kernel_gossip_gateway_request_duration_seconds_bucket/);
    assert.match(m.text, /kernel_gossip_gateway_process_resident_memory_bytes \d+/);
  });

  test("the API needs a bearer token: none or a wrong one is 401", async () => {
    const body = { queries: [{ refId: "A", type: "whispers", range }] };
    const none = await api.call<{ message: string }>("POST", "/api/v1/query", body, {
      token: null,
    });
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.match(none.body.message, /missing bearer token/);
    const wrong = await api.call<{ message: string }>("POST", "/api/v1/query", body, {
      token: "nope",
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body.message, /unknown bearer token/);
    const doc = await api.call("GET", "/openapi.json", undefined, { token: null });
    assert.equal(doc.status, 401);
  });

  test("the OpenAPI document describes every route and the query types", () => {
    const paths = Object.keys(api.doc.paths).sort();
    for (const p of [
      "/api/v1/query",
      "/api/v1/variables/{kind}",
      "/api/v1/annotations",
      "/api/v1/stream",
      "/healthz",
      "/readyz",
      "/metrics",
      "/openapi.json",
    ]) {
      assert.ok(paths.includes(p), `${p} missing from ${paths.join(", ")}`);
    }
    const text = JSON.stringify(api.doc);
    for (const t of ["signal", "whispers", "births", "truth-vs-metrics", "pixie"]) {
      assert.ok(text.includes(`"enum":["${t}"]`), `query type ${t} not documented`);
    }
  });

  test("CORS is off by default: no Access-Control-Allow-Origin", async () => {
    const r = await api.call("GET", "/healthz", undefined, {
      token: null,
      headers: { origin: "http://evil.example" },
    });
    assert.equal(r.headers.get("access-control-allow-origin"), null);
  });

  test("the gateway's Kubernetes identity can read but not write", async () => {
    const can = async (verb: string, resource: string) =>
      (await kube.kubectl(["auth", "can-i", verb, resource, "--as", identity, "-A"])).stdout.trim();
    assert.equal(await can("list", "kernelwhispers.kernel.gossip.io"), "yes");
    assert.equal(await can("watch", "podbirthcertificates.kernel.gossip.io"), "yes");
    for (const verb of ["create", "update", "patch", "delete"]) {
      assert.equal(await can(verb, "kernelwhispers.kernel.gossip.io"), "no", verb);
    }
  });
});

describe("whispers", () => {
  test("as a table: the objects overlapping the range, with their fields, newest first", async () => {
    const res = await query([
      { refId: "A", type: "whispers", range, filters: { namespace: [ns] } },
    ]);
    const a = res.A;
    assert.equal(a?.status, 200);
    const f = a.frames[0];
    assert.equal(a.frames.length, 1);
    assert.equal(f?.refId, "A");
    assert.equal(f.meta?.preferredVisualisationType, "table");
    assert.deepEqual(col(f, "name"), ["api-oom", "checkout-throttled"]); // batch-drops is outside the range
    assert.deepEqual(col(f, "lastSeen"), [ms("10:10"), ms("10:05")]);
    assert.deepEqual(col(f, "firstSeen"), [ms("10:10"), ms("10:00")]);
    assert.deepEqual(col(f, "signal"), ["oom-kill", "cpu-throttling"]);
    assert.deepEqual(col(f, "severity"), ["critical", "warning"]);
    assert.deepEqual(col(f, "occurrences"), [1, 3]);
    assert.deepEqual(col(f, "pod"), ["api-0", "checkout-7d9f"]);
    assert.deepEqual(col(f, "phase"), [null, "Active"]);
    assert.deepEqual(col(f, "action"), [null, "raise-cpu-limit"]);
    assert.deepEqual(col(f, "kernelTruth")[1], "throttledPeriodsRatio=0.62 ratio");
    assert.deepEqual(col(f, "metricsView")[1], "avgCpuUsagePercentOfLimit=38 percent");
    assert.equal(f.fields.find((x) => x.name === "lastSeen")?.type, "time");
    assert.equal(f.length, 2);
  });

  test("filters: severity, signal, node, pod, and a cgroup subject", async () => {
    const wide = { from: ms("09:00"), to: ms("12:00") };
    const names = async (filters: Record<string, string[]>) =>
      col(
        (
          await query([
            { refId: "A", type: "whispers", range: wide, filters: { namespace: [ns], ...filters } },
          ])
        ).A?.frames[0],
        "name",
      );
    assert.deepEqual(await names({ severity: ["critical"] }), ["api-oom"]);
    assert.deepEqual(await names({ signal: ["cpu-throttling", "packet-drops"] }), [
      "batch-drops",
      "checkout-throttled",
    ]);
    assert.deepEqual(await names({ node: ["node-a"] }), ["batch-drops", "checkout-throttled"]);
    assert.deepEqual(await names({ pod: ["api-0"] }), ["api-oom"]);
    assert.deepEqual(await names({ cgroup: ["/system.slice/batch.service"] }), ["batch-drops"]);
    assert.deepEqual(await names({ pod: ["no-such-pod"] }), []);
  });

  test("as Explore log lines: timestamp, body, severity, id, labels", async () => {
    const res = await query([
      { refId: "L", type: "whispers", format: "logs", range, filters: { namespace: [ns] } },
    ]);
    const f = res.L?.frames[0];
    assert.equal(f?.meta?.type, "log-lines");
    assert.equal(f.meta.preferredVisualisationType, "logs");
    assert.deepEqual(
      f.fields.map((x) => x.name),
      ["timestamp", "body", "severity", "id", "labels"],
    );
    assert.deepEqual(col(f, "timestamp"), [ms("10:10"), ms("10:05")]);
    assert.equal(
      col(f, "body")[1],
      `cpu-throttling on ${ns}/checkout-7d9f/app: Throttled in 62% of periods while averaging 38% of its limit. (metrics said: avgCpuUsagePercentOfLimit=38 percent)`,
    );
    assert.deepEqual(col(f, "labels")[0], {
      signal: "oom-kill",
      severity: "critical",
      namespace: ns,
      pod: "api-0",
      container: "api",
      node: "node-b",
    });
  });
});

describe("births", () => {
  test("a table of certificates in the range and, on request, each timeline", async () => {
    const res = await query([
      { refId: "B", type: "births", timeline: true, range, filters: { namespace: [ns] } },
    ]);
    const frames = res.B?.frames ?? [];
    assert.equal(frames.length, 3);
    const [table, t1] = frames;
    assert.deepEqual(col(table, "pod"), ["web-1", "web-0"]);
    assert.deepEqual(col(table, "startTime"), [ms("10:20"), ms("10:00")]);
    assert.deepEqual(col(table, "node"), ["node-b", "node-a"]);
    assert.deepEqual(col(table, "syscalls"), [1234, 1234]);
    assert.deepEqual(col(table, "namespacesCreated"), [3, 3]);
    assert.deepEqual(col(table, "execs"), [3, 3]);
    assert.deepEqual(col(table, "duration"), [0.098, 0.098]);
    assert.equal(t1?.name, `${ns}/web-1 birth`);
    assert.deepEqual(col(t1, "offset"), [0, 1500, 98000]);
    assert.deepEqual(col(t1, "time"), [ms("10:20"), ms("10:20") + 1.5, ms("10:20") + 98]);
    assert.deepEqual(col(t1, "action"), ["cgroup-created", "cgroup-file-written", "exec"]);
    assert.deepEqual(col(t1, "pid"), [null, null, 4242]);
  });

  test("node and range filters select certificates", async () => {
    const res = await query([
      { refId: "N", type: "births", range, filters: { namespace: [ns], node: ["node-a"] } },
      {
        refId: "R",
        type: "births",
        range: { from: ms("10:10"), to: ms("10:30") },
        filters: { namespace: [ns] },
      },
    ]);
    assert.deepEqual(col(res.N?.frames[0], "pod"), ["web-0"]);
    assert.deepEqual(col(res.R?.frames[0], "pod"), ["web-1"]);
  });
});

describe("annotations and variables", () => {
  test("whispers as time-range annotations with text and tags", async () => {
    const r = await api.call<{
      annotations: { time: number; timeEnd: number; title: string; text: string; tags: string[] }[];
    }>(
      "GET",
      `/api/v1/annotations?from=${range.from}&to=${range.to}&namespace=${ns}&severity=warning`,
    );
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.annotations.length, 1);
    const a = r.body.annotations[0];
    assert.equal(a?.time, ms("10:00"));
    assert.equal(a.timeEnd, ms("10:05"));
    assert.equal(a.title, "warning: cpu-throttling");
    assert.match(a.text, /Throttled in 62% of periods/);
    assert.deepEqual(a.tags, [
      "signal:cpu-throttling",
      "severity:warning",
      `namespace:${ns}`,
      "pod:checkout-7d9f",
      "node:node-a",
    ]);
  });

  test("namespaces, pods, containers, nodes and signals", async () => {
    const v = async (path: string) => {
      const r = await api.call<{
        values: string[];
        errors?: { source: string; message: string }[];
      }>("GET", `/api/v1/variables/${path}`);
      assert.equal(r.status, 200, r.text);
      return r.body;
    };
    const nss = await v("namespaces");
    assert.ok(nss.values.includes(ns) && nss.values.includes(other), JSON.stringify(nss));
    // The signal source is down: the cached names still answer, and the error is named.
    assert.equal(nss.errors?.[0]?.source, "prometheus");
    assert.deepEqual((await v(`pods?namespace=${ns}`)).values, [
      "api-0",
      "checkout-7d9f",
      "web-0",
      "web-1",
    ]);
    assert.deepEqual((await v(`containers?namespace=${ns}`)).values, ["api", "app"]);
    assert.deepEqual((await v(`nodes?namespace=${ns}`)).values, ["node-a", "node-b"]);
    assert.deepEqual((await v(`nodes?namespace=${ns}&pod=api-0`)).values, ["node-b"]);
    const signals = (await v("signals")).values;
    assert.ok(signals.includes("cpu-throttling") && signals.includes("runqueue-delay"));
    const bad = await api.call<{ field: string }>("GET", "/api/v1/variables/colours");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.field, "params.kind");
  });
});

describe("live changes", () => {
  test("a whisper created after start appears in queries and on /stream; a deleted one goes", async () => {
    const ctl = new AbortController();
    const res = await fetch(`${gw.url}/api/v1/stream?namespace=${ns}&types=whisper`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ctl.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = res.body?.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    const read = async (until: RegExp) => {
      while (!until.test(seen)) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) throw new Error(`stream ended before ${String(until)}: ${seen}`);
        seen += chunk.value;
      }
    };
    try {
      await read(/: connected/);
      await apply(
        whisper(ns, "late-arrival", {
          subject: { namespace: ns, pod: "late-0", node: "node-a" },
          signal: "runqueue-delay",
          severity: "warning",
          firstSeen: T("10:15"),
          lastSeen: T("10:16"),
        }),
      );
      await read(
        /event: whisper\nid: kw-\d+\ndata: \{"change":"added","whisper":\{[^\n]*"name":"late-arrival"/,
      );
      await eventually(
        "late whisper queryable",
        async () => {
          const r = await query([
            { refId: "A", type: "whispers", range, filters: { namespace: [ns], pod: ["late-0"] } },
          ]);
          return col(r.A?.frames[0], "name").length === 1 ? true : undefined;
        },
        10_000,
      );
      const del = await kube.kubectl(["delete", "kw", "late-arrival", "-n", ns]);
      assert.equal(del.code, 0, del.stderr);
      await read(/"change":"deleted","whisper":\{[^\n]*"name":"late-arrival"/);
      const r = await query([
        { refId: "A", type: "whispers", range, filters: { namespace: [ns], pod: ["late-0"] } },
      ]);
      assert.deepEqual(col(r.A?.frames[0], "name"), []);
    } finally {
      ctl.abort();
    }
  });
});

describe("bad input and failing sources", () => {
  const bad = async (body: unknown, field: string, message: RegExp) => {
    const r = await api.call<{ statusCode: number; message: string; field?: string }>(
      "POST",
      "/api/v1/query",
      body,
    );
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.field, field, r.text);
    assert.match(r.body.message, message);
  };
  const q = (extra: Record<string, unknown>) => ({
    queries: [{ refId: "A", type: "whispers", range, ...extra }],
  });

  test("unknown fields, unknown query types and malformed values name the field", async () => {
    await bad(q({ colour: "red" }), "queries[0].colour", /unknown field/);
    await bad(
      { queries: [{ refId: "A", type: "tarot", range }] },
      "queries[0].type",
      /unknown query type/,
    );
    await bad(q({ range: { from: "yesterday", to: 1 } }), "queries[0].range.from", /integer/);
    await bad(q({ filters: { severity: ["loud"] } }), "queries[0].filters.severity[0]", /./);
    await bad({ queries: [{ refId: "A", range }] }, "queries[0].type", /./);
    await bad(
      { queries: [{ refId: "A", type: "signal", range }] },
      "queries[0].signal",
      /required/,
    );
    await bad({ queries: [] }, "queries", /fewer than 1/);
    await bad({}, "queries", /required/);
  });

  test("inverted and oversized ranges, too many points or queries, duplicate refIds", async () => {
    await bad(
      q({ range: { from: range.to, to: range.from } }),
      "queries[0].range",
      /before range.from/,
    );
    await bad(
      q({ range: { from: 0, to: 40 * 24 * 3_600_000 } }),
      "queries[0].range",
      /longer than the limit/,
    );
    await bad(
      {
        queries: [
          {
            refId: "A",
            type: "signal",
            signal: "cpu-throttling",
            range: { from: 0, to: 86_400_000 },
            intervalMs: 1000,
          },
        ],
      },
      "queries[0].intervalMs",
      /86401 points per series exceed the limit of 11000/,
    );
    await bad(q({ intervalMs: 10 }), "queries[0].intervalMs", /below the minimum/);
    await bad(q({ maxDataPoints: 50_000 }), "queries[0].maxDataPoints", /above the limit/);
    const many = Array.from({ length: 21 }, (_, i) => ({
      refId: `Q${i}`,
      type: "whispers",
      range,
    }));
    await bad({ queries: many }, "queries", /at most 20 queries/);
    await bad(
      {
        queries: [
          { refId: "A", type: "whispers", range },
          { refId: "A", type: "births", range },
        ],
      },
      "queries[1].refId",
      /duplicate/,
    );
    const r = await api.call("POST", "/api/v1/query", "{not json");
    assert.equal(r.status, 400);
  });

  test("a down Prometheus fails only its queries; pixie answers 'not configured'; the rest answers", async () => {
    const res = await query([
      { refId: "W", type: "whispers", range, filters: { namespace: [ns] } },
      { refId: "S", type: "signal", signal: "cpu-throttling", range, intervalMs: 60_000 },
      {
        refId: "T",
        type: "truth-vs-metrics",
        range,
        filters: { namespace: [ns], pod: ["checkout-7d9f"] },
      },
      { refId: "P", type: "pixie", script: "pod-network", range },
    ]);
    assert.equal(res.W?.status, 200);
    assert.equal(col(res.W.frames[0], "name").length, 2);
    for (const id of ["S", "T"]) {
      assert.equal(res[id]?.status, 502, JSON.stringify(res[id]));
      assert.equal(res[id].source, "prometheus");
      assert.match(res[id].error ?? "", /prometheus unreachable/);
      assert.deepEqual(res[id].frames, []);
    }
    assert.equal(res.P?.status, 501);
    assert.match(res.P.error ?? "", /^Pixie not configured/);
    const m = await api.call<string>("GET", "/metrics", undefined, { token: null });
    assert.match(m.text, /kernel_gossip_gateway_source_errors_total\{source="prometheus"\} [1-9]/);
  });
});
