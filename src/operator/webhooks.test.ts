// Webhooks into the operator against the real API server: Grafana's and
// Alertmanager's documented bodies become KernelWhispers with evidence, a
// recommendation built from the pod's real spec, and an Event on the pod;
// bad requests get their status code and write nothing. (Grafana itself cannot
// run here: the bodies are built to its documented webhook format.)
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { KernelWhisper } from "../shared/model/kernel-whisper.ts";
import type { RunningOperator } from "./operator.ts";
import {
  eventually,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../tests/support/operator.ts";
import { alertmanagerFullBody } from "../../tests/support/alertmanager-body.ts";

const TOKEN = "test-token";
const HMAC = "hmac-secret";
let kube: TestCluster;
let ns: string;
let op: RunningOperator;

const grafanaBody = (labels: Record<string, string>, value: number, status = "firing") => ({
  receiver: "kernel-gossip",
  status,
  orgId: 1,
  alerts: [
    {
      status,
      labels: { alertname: "KernelCpuThrottling", grafana_folder: "kernel-gossip", ...labels },
      annotations: { summary: "throttled", kernel_gossip_window: "5m" },
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://grafana.local/alerting/grafana/abc/view",
      fingerprint: "5a1b2c3d4e5f6a7b",
      silenceURL: "http://grafana.local/alerting/silence/new",
      dashboardURL: "",
      panelURL: "",
      values: { B: value, C: 1 },
      valueString: `[ var='B' labels={} value=${value} ]`,
    },
  ],
  groupLabels: { alertname: "KernelCpuThrottling" },
  commonLabels: labels,
  commonAnnotations: {},
  externalURL: "http://grafana.local/",
  version: "1",
  groupKey: '{}/{}:{alertname="KernelCpuThrottling"}',
  truncatedAlerts: 0,
  title: "[FIRING:1] KernelCpuThrottling",
  state: "alerting",
  message: "throttled",
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const sig = createHmac("sha256", HMAC).update(text).digest("hex");
  return fetch(`${op.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${TOKEN}`,
      "x-grafana-alerting-signature": sig,
      ...headers,
    },
    body: text,
  });
}

before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("op-webhooks");
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "checkout-1", namespace: ns },
    spec: {
      automountServiceAccountToken: false,
      containers: [
        {
          name: "app",
          image: "busybox:1.36",
          resources: {
            requests: { cpu: "250m", memory: "64Mi" },
            limits: { cpu: "500m", memory: "128Mi" },
          },
        },
      ],
    },
  };
  const res = await kube.kubectl(["apply", "-f", "-"], JSON.stringify(pod));
  assert.equal(res.code, 0, res.stderr);
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => {
      c.webhooks.auth.token = TOKEN;
      c.webhooks.auth.hmacSecret = HMAC;
      c.webhooks.bodyLimitBytes = 64 * 1024;
    }),
  );
});
after(async () => {
  await op.stop();
  await closeTestCluster();
});

describe("Grafana webhook", () => {
  const labels = () => ({
    kernel_gossip_signal: "cpu-throttling",
    namespace: ns,
    pod: "checkout-1",
    container: "app",
    severity: "warning",
  });

  test("a firing alert becomes a whisper with evidence, a recommendation and a pod Event", async () => {
    const res = await post("/webhooks/grafana", grafanaBody(labels(), 0.62));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { accepted: 1, ignored: 0, reasons: {} });
    const kw = await eventually<KernelWhisper>("whisper with status", async () => {
      const [w] = await listWhispers(kube, ns);
      return w?.status?.recommendation ? w : undefined;
    });
    assert.equal(kw.spec.signal, "cpu-throttling");
    assert.equal(kw.spec.source, "grafana");
    assert.equal(kw.spec.severity, "warning");
    assert.deepEqual(kw.spec.subject, { namespace: ns, pod: "checkout-1", container: "app" });
    assert.deepEqual(kw.spec.kernelTruth.quantities, [
      { name: "throttledPeriodsRatio", value: 0.62, unit: "ratio" },
    ]);
    assert.equal(kw.spec.occurrences, 1);
    const st = kw.status;
    assert.ok(st);
    assert.equal(st.phase, "Active");
    assert.equal(st.observedGeneration, 1);
    assert.equal(st.recommendation?.action, "raise-cpu-limit");
    // The pod has no owner, so the change targets the pod itself, from its real limit.
    const change = st.recommendation.change;
    assert.ok(change);
    assert.equal(change.target.kind, "Pod");
    assert.equal(change.from, "500m");
    assert.equal(change.to, "810m");
    assert.equal(st.conditions?.[0]?.type, "Active");
    const events = await eventually("pod event", async () => {
      const r = await kube.kubectl([
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        "involvedObject.name=checkout-1",
        "-o",
        "json",
      ]);
      const items = (JSON.parse(r.stdout) as { items: { reason: string; message: string }[] })
        .items;
      return items.length ? items : undefined;
    });
    assert.equal(events[0]?.reason, "KernelWhisper");
    assert.match(
      events[0].message,
      new RegExp(`kubectl get kw ${kw.metadata.name ?? ""} -n ${ns}`),
    );
  });

  test("the same alert sent twice makes one whisper with two occurrences", async () => {
    const res = await post("/webhooks/grafana", grafanaBody(labels(), 0.7));
    assert.equal(res.status, 200);
    const kw = await eventually("second occurrence", async () => {
      const ws = await listWhispers(kube, ns);
      const w = ws[0];
      // Wait for the status to catch up with the spec (two writes).
      return ws.length === 1 && w?.spec.occurrences === 2 && w.status?.observedGeneration === 2
        ? w
        : undefined;
    });
    assert.equal(kw.spec.kernelTruth.quantities[0]?.value, 0.7);
    assert.equal(kw.metadata.generation, 2);
    assert.equal(kw.status?.observedGeneration, 2);
  });

  test("a resolved alert resolves the whisper", async () => {
    const res = await post("/webhooks/grafana", grafanaBody(labels(), 0.7, "resolved"));
    assert.equal(res.status, 200);
    const kw = await eventually("resolved", async () => {
      const [w] = await listWhispers(kube, ns);
      return w?.status?.phase === "Resolved" ? w : undefined;
    });
    assert.equal(kw.status?.conditions?.[0]?.status, "False");
  });
});

describe("Alertmanager webhook", () => {
  test("a version 4 body becomes a whisper about a cgroup", async () => {
    const body = alertmanagerFullBody(
      {
        alertname: "KernelPacketDrops",
        kernel_gossip_signal: "packet-drops",
        cgroup: "/system.slice/nginx.service",
        node: "node-a",
      },
      { kernel_gossip_value: "1500", kernel_gossip_window: "1m" },
      "c0ffee",
    );
    const res = await fetch(`${op.url}/webhooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const kw = await eventually("drop whisper", async () =>
      (await listWhispers(kube, ns)).find(
        (w) => w.spec.signal === "packet-drops" && w.status?.insight,
      ),
    );
    assert.equal(kw.spec.source, "alertmanager");
    assert.equal(kw.spec.severity, "critical");
    assert.equal(kw.spec.subject.cgroupPath, "/system.slice/nginx.service");
    assert.equal(kw.status?.recommendation?.action, "investigate-network");
  });
});

describe("bad requests write nothing", () => {
  const body = () =>
    grafanaBody({ kernel_gossip_signal: "oom-kill", namespace: ns, pod: "bad" }, 1);

  const cases: [string, () => Promise<Response>, number, RegExp][] = [
    [
      "no credentials",
      () => post("/webhooks/grafana", body(), { authorization: "" }),
      401,
      /missing Authorization/,
    ],
    [
      "wrong token",
      () => post("/webhooks/grafana", body(), { authorization: "Bearer nope" }),
      401,
      /invalid credentials/,
    ],
    [
      "bad signature",
      () => post("/webhooks/grafana", body(), { "x-grafana-alerting-signature": "00" }),
      401,
      /invalid signature/,
    ],
    [
      "oversized body",
      () => post("/webhooks/grafana", { ...body(), message: "x".repeat(70 * 1024) }),
      413,
      /too large/i,
    ],
    ["malformed JSON", () => post("/webhooks/grafana", '{"receiver": '), 400, /not valid JSON/],
    [
      "a pod label of 10 000 characters",
      () =>
        post(
          "/webhooks/grafana",
          grafanaBody(
            { kernel_gossip_signal: "oom-kill", namespace: ns, pod: "p".repeat(10_000) },
            1,
          ),
        ),
      400,
      /^alerts\[0\]\.labels\.pod "p{64}… \(10000 characters\)" is not a Kubernetes name/,
    ],
    [
      "a namespace label that is not a DNS label",
      () =>
        post(
          "/webhooks/grafana",
          grafanaBody({ kernel_gossip_signal: "oom-kill", namespace: "Shop_1", pod: "p" }, 1),
        ),
      400,
      /^alerts\[0\]\.labels\.namespace "Shop_1" is not a Kubernetes name/,
    ],
    [
      "schema-invalid",
      () => post("/webhooks/grafana", { receiver: "x", status: "firing", version: "1" }),
      400,
      /alerts/,
    ],
  ];
  for (const [name, send, code, message] of cases) {
    test(`${name} → ${code}`, async () => {
      const before = (await listWhispers(kube, ns)).length;
      const res = await send();
      assert.equal(res.status, code);
      assert.match(((await res.json()) as { error: string }).error, message);
      await op.flush();
      assert.equal((await listWhispers(kube, ns)).length, before);
    });
  }

  test("a subject whose namespace does not exist is kept in the operator's namespace", async () => {
    const missing = `gone-${ns}`;
    const res = await post(
      "/webhooks/grafana",
      grafanaBody({ kernel_gossip_signal: "oom-kill", namespace: missing, pod: "api-0" }, 1),
    );
    assert.equal(res.status, 200);
    const kw = await eventually("whisper relocated to the operator's namespace", async () =>
      (await listWhispers(kube, ns)).find(
        (w) => w.spec.subject.namespace === missing && w.status?.conditions?.length === 2,
      ),
    );
    assert.deepEqual(kw.spec.subject, { namespace: missing, pod: "api-0" });
    assert.equal(kw.metadata.labels?.["kernel.gossip.io/subject-namespace"], missing);
    const cond = kw.status?.conditions?.find((c) => c.type === "SubjectNamespaceFound");
    assert.equal(cond?.status, "False");
    assert.equal(cond.reason, "NamespaceNotFound");
    const metrics = await (await fetch(`${op.url}/metrics`)).text();
    assert.match(
      metrics,
      /kernel_gossip_operator_whisper_retries_total\{reason="namespace-missing"\} 1\n/,
    );
  });

  test("drop alerts with different reasons make different whispers, each explained", async () => {
    const drop = (reason: string) => ({
      status: "firing",
      labels: {
        alertname: "KernelPacketDrops",
        kernel_gossip_signal: "packet-drops",
        cgroup: "/system.slice/haproxy.service",
        node: "node-a",
        reason,
      },
      annotations: { kernel_gossip_value: "250", kernel_gossip_window: "5m" },
      startsAt: new Date().toISOString(),
    });
    const res = await fetch(`${op.url}/webhooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        receiver: "kernel-gossip",
        status: "firing",
        version: "4",
        alerts: [drop("NO_SOCKET"), drop("NETFILTER_DROP")],
      }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { accepted: 2, ignored: 0, reasons: {} });
    const drops = await eventually("two drop whispers", async () => {
      const ws = (await listWhispers(kube, ns)).filter(
        (w) =>
          w.spec.subject.cgroupPath === "/system.slice/haproxy.service" && w.status?.recommendation,
      );
      return ws.length === 2 ? ws : undefined;
    });
    const byReason = new Map(drops.map((w) => [w.spec.kernelTruth.attributes?.reason, w]));
    assert.match(
      byReason.get("NO_SOCKET")?.status?.recommendation?.rationale ?? "",
      /nothing was listening/,
    );
    assert.match(
      byReason.get("NETFILTER_DROP")?.status?.recommendation?.rationale ?? "",
      /netfilter/,
    );
  });

  test("unknown alert labels are accepted, ignored and counted", async () => {
    const res = await post(
      "/webhooks/grafana",
      grafanaBody({ alertname: "DiskFull", team: "x" }, 1),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      accepted: 0,
      ignored: 1,
      reasons: { "no-signal-label": 1 },
    });
    const metrics = await (await fetch(`${op.url}/metrics`)).text();
    assert.match(
      metrics,
      /kernel_gossip_operator_alerts_ignored_total\{reason="no-signal-label"\} 1/,
    );
    assert.match(
      metrics,
      /kernel_gossip_operator_webhooks_total\{source="grafana",outcome="unauthorized"\} 2/,
    );
  });
});
