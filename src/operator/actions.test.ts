// Guarded actions and leader election against the real API server: dry-run
// records the exact patches; "on", in allow-listed namespaces only, resizes the
// pod in place as immediate relief and patches its owner's template
// (Deployment through its ReplicaSet, StatefulSet, DaemonSet) so the change
// outlives the pod, auditing both (ADR 0078); a standby replica answers 503
// until the leader goes away.
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
} from "../../tests/support/operator.ts";
import { alertmanagerBody } from "../../tests/support/alertmanager-body.ts";

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

const labels = (name: string) => ({ app: name });
const container = {
  name: "app",
  image: "busybox:1.36",
  resources: { requests: { cpu: "250m" }, limits: { cpu: "500m" } },
};
const controller = (kind: string, name: string, uid: string) => [
  { apiVersion: "apps/v1", kind, name, uid, controller: true },
];
const template = (name: string) => ({
  selector: { matchLabels: labels(name) },
  template: { metadata: { labels: labels(name) }, spec: { containers: [container] } },
});

/** A pod of workload `app`, owned as its controller would own it. */
async function podOf(ns: string, app: string, name: string, owners: object[]) {
  await apply({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels: labels(app), ownerReferences: owners },
    spec: { automountServiceAccountToken: false, containers: [container] },
  });
  return name;
}

/** Deployment → ReplicaSet → Pod, linked by owner references as the controllers would. */
async function deployment(ns: string, name: string) {
  const d = await apply({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: template(name),
  });
  const rs = await apply({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${name}-7d9f`,
      namespace: ns,
      ownerReferences: controller("Deployment", name, d.metadata.uid),
    },
    spec: template(name),
  });
  return podOf(
    ns,
    name,
    `${name}-7d9f-x1`,
    controller("ReplicaSet", `${name}-7d9f`, rs.metadata.uid),
  );
}

/** A StatefulSet or DaemonSet and one pod it owns. */
async function workload(ns: string, kind: "StatefulSet" | "DaemonSet", name: string) {
  const w = await apply({
    apiVersion: "apps/v1",
    kind,
    metadata: { name, namespace: ns },
    spec: { ...template(name), ...(kind === "StatefulSet" ? { serviceName: name } : {}) },
  });
  return podOf(ns, name, `${name}-0`, controller(kind, name, w.metadata.uid));
}

const alert = (ns: string, pod: string) =>
  alertmanagerBody(
    {
      alertname: "KernelCpuThrottling",
      kernel_gossip_signal: "cpu-throttling",
      namespace: ns,
      pod,
      container: "app",
    },
    { kernel_gossip_value: "0.6", kernel_gossip_window: "5m" },
    { startsAt: new Date().toISOString() },
  );

const send = (op: RunningOperator, body: object) =>
  fetch(`${op.url}/webhooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const podCpuLimit = (ns: string, pod: string) => field(kube, `pod/${pod}`, ns, CPU_LIMIT);

describe("guarded actions", () => {
  test("dry-run records the exact patches — relief and lasting change — and changes nothing", async () => {
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
      new RegExp(
        `^would apply: immediate relief: resize pod ${ns}/${pod} container app limits\\.cpu 500m → 750m: .*; then lasting change: patch Deployment ${ns}/checkout template container app limits\\.cpu 500m → 750m`,
      ),
    );
    assert.match(
      rec.result,
      /\{"spec":\{"template":\{"spec":\{"containers":\[\{"name":"app","resources":\{"limits":\{"cpu":"750m"\}\}\}\]\}\}\}\}/,
    );
    // The recommendation itself names the Deployment's template.
    assert.equal(kw.status?.recommendation?.change?.target.kind, "Deployment");
    assert.equal(await podCpuLimit(ns, pod), "500m");
    assert.equal(await field(kube, "deploy/checkout", ns, TEMPLATE_CPU_LIMIT), "500m");
  });

  test("on: relief on the pod and a lasting change on its owner, both audited; never outside the allow-list", async () => {
    const allowed = await kube.namespace("act-on");
    const other = await kube.namespace("act-off");
    const owners: [kind: string, resource: string, pod: string][] = [
      ["Deployment", "deploy/api", await deployment(allowed, "api")],
      ["StatefulSet", "sts/db", await workload(allowed, "StatefulSet", "db")],
      ["DaemonSet", "ds/agent", await workload(allowed, "DaemonSet", "agent")],
    ];
    const podB = await deployment(other, "api");
    const op = await startTestOperator(
      testConfig(kube.kubeconfig, allowed, (c) => {
        c.actions.mode = "on";
        c.actions.namespaces = [allowed];
      }),
    );
    running.push(op);
    for (const [, , pod] of owners) assert.equal((await send(op, alert(allowed, pod))).status, 200);
    assert.equal((await send(op, alert(other, podB))).status, 200);

    for (const [kind, resource, pod] of owners) {
      const audit = await eventually(`two audit records for ${kind}`, async () => {
        const w = (await listWhispers(kube, allowed)).find((x) => x.spec.subject.pod === pod);
        const done = w?.status?.actions?.filter((a) => a.mode === "applied" || a.mode === "failed");
        return done?.length === 2 ? done : undefined;
      });
      const [relief, lasting] = audit;
      assert.ok(relief && lasting);
      assert.equal(relief.mode, "applied", relief.result);
      assert.match(relief.result, new RegExp(`^immediate relief: resize pod ${allowed}/${pod} `));
      assert.equal(lasting.mode, "applied", lasting.result);
      assert.match(lasting.result, new RegExp(`^lasting change: patch ${kind} ${allowed}/`));
      // Both changes are in the API: the running pod's limit and the owner's template.
      assert.equal(await podCpuLimit(allowed, pod), "750m");
      assert.equal(await field(kube, resource, allowed, TEMPLATE_CPU_LIMIT), "750m");
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
