// Guarded actions and leader election against the real API server: dry-run
// records the exact patch; "on" changes the pod (in-place resize) or its
// Deployment in allow-listed namespaces only and audits it; a standby replica
// answers 503 until the leader goes away.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { KernelWhisper } from "../shared/model/kernel-whisper.ts";
import type { RunningOperator } from "./operator.ts";
import {
  CPU_LIMIT,
  EVENT_REASONS,
  TEMPLATE_CPU_LIMIT,
  eventually,
  field,
  listWhispers,
  startTestOperator,
  testConfig,
} from "./testing.ts";

let kube: TestCluster;
const running: RunningOperator[] = [];
before(async () => {
  kube = await testCluster();
});
after(async () => {
  for (const op of running) await op.stop();
  await closeTestCluster();
});

const apply = async (obj: object) => {
  const res = await kube.kubectl(["apply", "-o", "json", "-f", "-"], JSON.stringify(obj));
  assert.equal(res.code, 0, res.stderr);
  return JSON.parse(res.stdout) as { metadata: { uid: string } };
};

/** Deployment → ReplicaSet → Pod, linked by owner references as the controllers would. */
async function deployment(ns: string, name: string) {
  const labels = { app: name };
  const container = {
    name: "app",
    image: "busybox:1.36",
    resources: { requests: { cpu: "250m" }, limits: { cpu: "500m" } },
  };
  const d = await apply({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [container] } },
    },
  });
  const owner = (kind: string, n: string, uid: string, apiVersion = "apps/v1") => [
    { apiVersion, kind, name: n, uid, controller: true },
  ];
  const rs = await apply({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${name}-7d9f`,
      namespace: ns,
      ownerReferences: owner("Deployment", name, d.metadata.uid),
    },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [container] } },
    },
  });
  await apply({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${name}-7d9f-x1`,
      namespace: ns,
      labels,
      ownerReferences: owner("ReplicaSet", `${name}-7d9f`, rs.metadata.uid),
    },
    spec: { automountServiceAccountToken: false, containers: [container] },
  });
  return `${name}-7d9f-x1`;
}

const alert = (ns: string, pod: string) => ({
  receiver: "kg",
  status: "firing",
  version: "4",
  alerts: [
    {
      status: "firing",
      labels: {
        alertname: "KernelCpuThrottling",
        kernel_gossip_signal: "cpu-throttling",
        namespace: ns,
        pod,
        container: "app",
      },
      annotations: { kernel_gossip_value: "0.6", kernel_gossip_window: "5m" },
      startsAt: new Date().toISOString(),
    },
  ],
});

const send = (op: RunningOperator, body: object) =>
  fetch(`${op.url}/webhooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const podCpuLimit = (ns: string, pod: string) => field(kube, `pod/${pod}`, ns, CPU_LIMIT);

describe("guarded actions", () => {
  test("dry-run records the exact patch and changes nothing", async () => {
    const ns = await kube.namespace("act-dry");
    const pod = await deployment(ns, "checkout");
    const op = await startTestOperator(
      testConfig(kube.kubeconfig, ns, (c) => (c.actions.mode = "dry-run")),
    );
    running.push(op);
    assert.equal((await send(op, alert(ns, pod))).status, 200);
    const kw = await eventually<KernelWhisper>("dry-run record", async () => {
      const [w] = await listWhispers(kube, ns);
      return w?.status?.actions?.length ? w : undefined;
    });
    const rec = kw.status?.actions?.[0];
    assert.ok(rec);
    assert.equal(rec.mode, "dry-run");
    assert.equal(rec.action, "raise-cpu-limit");
    assert.match(
      rec.result,
      new RegExp(`would resize pod ${ns}/${pod} container app limits\\.cpu 500m → 750m`),
    );
    assert.match(
      rec.result,
      /\{"spec":\{"containers":\[\{"name":"app","resources":\{"limits":\{"cpu":"750m"\}\}\}\]\}\}/,
    );
    // The recommendation itself names the Deployment's template.
    assert.equal(kw.status?.recommendation?.change?.target.kind, "Deployment");
    assert.equal(await podCpuLimit(ns, pod), "500m");
  });

  test("on: acts in an allow-listed namespace, audits it, and never touches others", async () => {
    const allowed = await kube.namespace("act-on");
    const other = await kube.namespace("act-off");
    const podA = await deployment(allowed, "api");
    const podB = await deployment(other, "api");
    const op = await startTestOperator(
      testConfig(kube.kubeconfig, allowed, (c) => {
        c.actions.mode = "on";
        c.actions.namespaces = [allowed];
      }),
    );
    running.push(op);
    assert.equal((await send(op, alert(allowed, podA))).status, 200);
    assert.equal((await send(op, alert(other, podB))).status, 200);

    const applied = await eventually("applied record", async () => {
      const [w] = await listWhispers(kube, allowed);
      return w?.status?.actions?.find((a) => a.mode === "applied" || a.mode === "failed");
    });
    assert.equal(applied.mode, "applied", applied.result);
    // In-place resize is preferred; the Deployment is the fallback. Either way the API changed.
    if (applied.result.startsWith("resize")) {
      assert.equal(await podCpuLimit(allowed, podA), "750m");
    } else {
      assert.equal(await field(kube, "deploy/api", allowed, TEMPLATE_CPU_LIMIT), "750m");
    }
    assert.match(await field(kube, "events", allowed, EVENT_REASONS), /KernelWhisperAction/);

    const refused = await eventually("refusal", async () => {
      const [w] = await listWhispers(kube, other);
      return w?.status?.actions?.find((a) => a.mode === "refused");
    });
    assert.match(refused.result, new RegExp(`namespace ${other} is not allow-listed`));
    assert.equal(await podCpuLimit(other, podB), "500m");
    assert.equal(await field(kube, "deploy/api", other, TEMPLATE_CPU_LIMIT), "500m");
  });
});

describe("leader election", () => {
  test("one replica leads; the standby is not ready and refuses webhooks until the leader leaves", async () => {
    const ns = await kube.namespace("lease");
    const withLease = (id: string) =>
      testConfig(kube.kubeconfig, ns, (c) => {
        c.leaderElection = {
          enabled: true,
          identity: id,
          leaseMs: 4_000,
          renewDeadlineMs: 3_000,
          retryMs: 300,
        };
      });
    const a = await startTestOperator(withLease("replica-a"));
    running.push(a);
    await eventually("a leads", () => Promise.resolve(a.isLeader() ? true : undefined));
    const b = await startTestOperator(withLease("replica-b"));
    running.push(b);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(b.isLeader(), false);
    assert.equal((await fetch(`${b.url}/readyz`)).status, 503);
    assert.equal((await send(b, alert(ns, "p"))).status, 503);
    assert.equal(
      await field(kube, "lease/kernel-gossip-operator", ns, ".spec.holderIdentity"),
      "replica-a",
    );

    await a.stop(); // releases the lease
    await eventually("b leads", () => Promise.resolve(b.isLeader() ? true : undefined), 5_000);
    assert.equal((await fetch(`${b.url}/readyz`)).status, 200);
    assert.equal((await send(b, alert(ns, "p"))).status, 200);
  });
});
