// The operator on real kernel evidence: the real observer watches a cgroup in
// kubelet's cgroupfs layout for a Pod created in the real API server; a busy
// loop under a CFS quota gets throttled; the throttle episode streams to the
// operator, which writes a KernelWhisper about that pod; when the throttling
// stops, the whisper resolves. Runs as root (BPF, cgroupfs).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KernelWhisper } from "../shared/model/kernel-whisper.ts";
import { containerId, cpuCgroup, type CpuCgroup } from "../../tests/env/cgroup.ts";
import { startObserver, type Observer } from "../local/runtime/observer.ts";
import { sleep } from "../local/runtime/process.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { RunningOperator } from "./operator.ts";
import {
  eventually,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../tests/support/operator.ts";

let kube: TestCluster;
let ns: string;
let observer: Observer;
let op: RunningOperator;
let cg: CpuCgroup;
const podName = "spinner";

before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("op-kernel");
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: podName, namespace: ns },
    spec: {
      nodeName: "local",
      automountServiceAccountToken: false,
      containers: [
        {
          name: "app",
          image: "busybox:1.36",
          resources: { limits: { cpu: "200m" }, requests: { cpu: "100m" } },
        },
      ],
    },
  };
  const res = await kube.kubectl(
    ["apply", "-o", "jsonpath={.metadata.uid}", "-f", "-"],
    JSON.stringify(pod),
  );
  assert.equal(res.code, 0, res.stderr);
  const uid = res.stdout.trim();
  assert.match(uid, /^[0-9a-f-]{36}$/);
  // kubelet's cgroupfs-driver layout for a burstable pod's container.
  cg = await cpuCgroup({ path: `/kubepods/burstable/pod${uid}/${containerId()}`, quotaCores: 0.2 });
  observer = await startObserver({ args: ["--sample-interval-ms", "250"] });
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => {
      c.observers.urls = [observer.url];
      c.whispers.quietPeriodMs = 3_000;
    }),
  );
  await eventually("stream connected", async () => {
    const text = await (await fetch(`${op.url}/metrics`)).text();
    return /kernel_gossip_operator_observer_streams 1/.test(text) ? true : undefined;
  });
});
after(async () => {
  await op.stop();
  await observer.stop();
  await cg.stop();
  await closeTestCluster();
});

test("kernel throttling of a pod's cgroup becomes a whisper about that pod, then resolves", async () => {
  await cg.startLoad();
  await sleep(2_500);
  await cg.stopLoad();
  const stat = await cg.cpuStat();
  assert.ok(stat.nrThrottled > 5, `the kernel throttled only ${stat.nrThrottled} periods`);

  const kw = await eventually<KernelWhisper>(
    "throttling whisper",
    async () =>
      (await listWhispers(kube, ns)).find(
        (w) => w.spec.signal === "cpu-throttling" && w.status?.insight,
      ),
    20_000,
  );
  assert.equal(kw.spec.source, "observer");
  assert.equal(kw.spec.subject.pod, podName);
  assert.equal(kw.spec.subject.namespace, ns);
  assert.equal(kw.spec.subject.cgroupPath, cg.path);
  assert.equal(kw.spec.subject.node, "local");
  const q = (name: string) => kw.spec.kernelTruth.quantities.find((x) => x.name === name)?.value;
  // Cross-check with the kernel's own accounting: the episode is a part of what
  // cpu.stat counted over the cgroup's life (all of it came from this one burst).
  const throttled = q("throttledPeriods") ?? 0;
  const periods = q("periods") ?? 0;
  assert.ok(
    throttled > 0 && throttled <= stat.nrThrottled,
    `episode ${throttled} vs cpu.stat ${stat.nrThrottled}`,
  );
  assert.ok(
    throttled >= stat.nrThrottled * 0.5,
    `episode ${throttled} covers too little of ${stat.nrThrottled}`,
  );
  assert.ok(Math.abs((q("throttledPeriodsRatio") ?? -1) - throttled / periods) < 1e-9);
  assert.equal(q("cpuLimitCores"), 0.2);
  const change = kw.status?.recommendation?.change;
  assert.equal(kw.status?.recommendation?.action, "raise-cpu-limit");
  assert.equal(change?.target.name, podName);
  assert.equal(change.from, "200m");
  // The averaged-metric contrast for the same window: usage as a share of the limit.
  const usage = kw.spec.metricsView?.quantities.find((x) => x.name === "avgCpuUsagePercentOfLimit");
  assert.ok(usage && usage.value > 0 && usage.value <= 110, JSON.stringify(kw.spec.metricsView));
  assert.deepEqual(kw.spec.metricsView?.window, kw.spec.kernelTruth.window);

  const resolved = await eventually<KernelWhisper>(
    "resolution after the quiet period",
    async () =>
      (await listWhispers(kube, ns)).find(
        (w) => w.metadata.name === kw.metadata.name && w.status?.phase === "Resolved",
      ),
    15_000,
  );
  assert.equal(resolved.status?.conditions?.[0]?.reason, "QuietPeriodElapsed");
});
