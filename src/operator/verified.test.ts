// Verified actions without a kubelet (ADR 0091): a Pod in the real API server
// whose container's cgroup (kubelet's layout, made by this test) holds a shell
// that sleeps — not CPU-bound — read by the real observer (without API access:
// it labels the series by pod UID and container id). An alert claims the pod is
// throttled while the operator's history is still too thin, so the operator
// resizes it on the alert's evidence; the kernel's counters over the window
// after show no improvement, and the operator rolls the change back through
// the API and says why. The kubelet end to end (the resize reaching the cgroup,
// the bursty workload that improves) is tests/rightsizing-e2e.test.ts. Root.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { containerId, cpuCgroup, type CpuCgroup } from "../../tests/env/cgroup.ts";
import { startObserver, type Observer } from "../local/runtime/observer.ts";
import { sleep } from "../local/runtime/process.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { KernelWhisper } from "../shared/model/kernel-whisper.ts";
import type { RunningOperator } from "./operator.ts";
import {
  eventually,
  field,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../tests/support/operator.ts";
import { alertmanagerFullBody } from "../../tests/support/alertmanager-body.ts";

const isRoot = process.getuid?.() === 0;
const WINDOW_MS = 20_000;
let kube: TestCluster;
let ns: string;
let cg: CpuCgroup;
let observer: Observer;
let op: RunningOperator;

before(async () => {
  if (!isRoot) return;
  kube = await testCluster();
  ns = await kube.namespace("op-verified");
  const limits = { cpu: "200m", memory: "32Mi" };
  const body = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "sleeper", namespace: ns },
    // Not bound to a node: the API refuses a resize on a node that does not declare
    // support for it, and no kubelet runs here (that is tests/rightsizing-e2e.test.ts).
    spec: {
      automountServiceAccountToken: false,
      containers: [{ name: "app", image: "busybox:1.36", resources: { limits, requests: limits } }],
    },
  };
  const res = await kube.kubectl(
    ["apply", "-o", "jsonpath={.metadata.uid}", "-f", "-"],
    JSON.stringify(body),
  );
  assert.equal(res.code, 0, res.stderr);
  const uid = res.stdout.trim();
  const cid = containerId();
  // The container id in the pod's status, as kubelet reports it: how the operator finds
  // the series of an observer that names the container by its id.
  const status = {
    status: {
      containerStatuses: [
        {
          name: "app",
          containerID: `containerd://${cid}`,
          image: "busybox:1.36",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: "ContainerCreating" } },
        },
      ],
    },
  };
  const st = await kube.kubectl([
    "patch",
    "pod",
    "sleeper",
    "-n",
    ns,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify(status),
  ]);
  assert.equal(st.code, 0, st.stderr);
  const root = `/kg-verified-${randomBytes(3).toString("hex")}/kubepods`;
  cg = await cpuCgroup({
    path: `${root}/pod${uid}/${cid}`,
    quotaCores: 0.2,
    load: ["sh", "-c", "while :; do sleep 0.2; done"],
  });
  await cg.startLoad();
  observer = await startObserver({ args: ["--sample-interval-ms", "250"] });
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => {
      c.observers.urls = [observer.url];
      c.births = { ...c.births, enabled: false };
      c.actions = {
        ...c.actions,
        mode: "on",
        namespaces: [ns],
        maxStepFactor: 8,
        cooldownMs: 5_000,
      };
      c.sizing = { ...c.sizing, windowMs: WINDOW_MS, sampleMs: 1_000 };
    }),
  );
});
after(async () => {
  if (!isRoot) return;
  for (const stop of [() => op.stop(), () => observer.stop(), () => cg.stop()])
    await stop().catch(() => undefined);
  await closeTestCluster();
});

const whisper = async (): Promise<KernelWhisper | undefined> =>
  (await listWhispers(kube, ns)).find(
    (w) => w.spec.signal === "cpu-throttling" && w.spec.subject.pod === "sleeper",
  );

test(
  "a change that cannot help a sleeping container is rolled back, with the kernel's figures",
  {
    skip: !isRoot && "needs root",
  },
  async () => {
    await sleep(3_000); // a few samples: the history is still too thin for a sizing
    const alert = alertmanagerFullBody(
      {
        alertname: "KernelCpuThrottling",
        kernel_gossip_signal: "cpu-throttling",
        namespace: ns,
        pod: "sleeper",
        container: "app",
      },
      { kernel_gossip_value: "0.6", kernel_gossip_window: "1m" },
      "5eef",
    );
    const res = await fetch(`${op.url}/webhooks/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(alert),
    });
    assert.equal(res.status, 200);
    const applied = await eventually(
      "the alert's change, being verified",
      async () => {
        const w = await whisper();
        return w?.status?.verification ? w : undefined;
      },
      30_000,
    ).catch(async (err: unknown) => {
      console.log(JSON.stringify(await listWhispers(kube, ns), null, 1));
      throw err;
    });
    const v = applied.status?.verification;
    assert.ok(v);
    assert.equal(applied.status?.sizing?.confidence, "insufficient");
    assert.equal(v.phase, "watching");
    assert.equal(v.from, "200m");
    assert.equal(v.requestFollows, true);
    const limit = ".spec.containers[0].resources.limits.cpu";
    const request = ".spec.containers[0].resources.requests.cpu";
    assert.equal(await field(kube, "pod/sleeper", ns, limit), v.to);
    assert.equal(await field(kube, "pod/sleeper", ns, request), v.to);

    const done = await eventually(
      "the verdict",
      async () => {
        const w = await whisper();
        const p = w?.status?.verification?.phase;
        return p && p !== "watching" && p !== "rollback-waiting" ? w : undefined;
      },
      WINDOW_MS + 30_000,
    );
    const d = done.status?.verification;
    assert.ok(d?.after);
    console.log(JSON.stringify({ verification: d, actions: done.status?.actions }, null, 2));
    assert.equal(d.phase, "rolled-back", d.reason);
    assert.match(d.reason ?? "", /did not go down by at least 20 %|got worse/);
    // The kernel saw the container: samples on both sides, and no throttling in either.
    assert.ok(d.before.samples > 0 && d.after.samples >= 10, JSON.stringify(d));
    assert.ok(d.after.throttledShare <= d.before.throttledShare + 0.02, JSON.stringify(d));
    const rollback = (done.status?.actions ?? []).filter((a) => a.action === "rollback");
    assert.equal(rollback.length, 1, JSON.stringify(done.status?.actions));
    const [rb] = rollback;
    assert.ok(rb);
    assert.equal(rb.mode, "applied");
    assert.match(rb.result, /^rollback: resize pod .* → 200m \(did not help: /);
    assert.equal(await field(kube, "pod/sleeper", ns, limit), "200m");
    assert.equal(await field(kube, "pod/sleeper", ns, request), "200m");
  },
);
