// Who stole my CPU (ADR 0095), end to end on the real kernel: two pods' cgroups
// in kubelet's cgroupfs layout, pinned to one CPU — a BestEffort pod spinning, a
// Burstable pod that sleeps and works in 1 ms steps. The real observer splits
// the latency pod's run-queue waits by who ran meanwhile; its cpu_stolen events
// stream to the operator, which writes a run-queue delay whisper naming the
// spinning pod, its QoS class and requests/limits, and the node. Runs as root.
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
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
let victim: CpuCgroup;
let culprit: CpuCgroup;

async function pod(name: string, resources: object): Promise<string> {
  const body = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: {
      nodeName: "local",
      automountServiceAccountToken: false,
      containers: [{ name: "app", image: "busybox:1.36", resources }],
    },
  };
  const res = await kube.kubectl(
    ["apply", "-o", "jsonpath={.metadata.uid}", "-f", "-"],
    JSON.stringify(body),
  );
  assert.equal(res.code, 0, res.stderr);
  return res.stdout.trim();
}

before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("op-stolen");
  const cpu = availableParallelism() - 1;
  const latency = await pod("latency", { requests: { cpu: "100m" } });
  const cruncher = await pod("cruncher", {});
  victim = await cpuCgroup({
    path: `/kubepods/burstable/pod${latency}/${containerId()}`,
    quotaCores: null,
    cpu,
    load: [
      "perl",
      "-e",
      "while (1) { select(undef, undef, undef, 0.001); my $x = 0; $x++ for 1 .. 20000; }",
    ],
  });
  culprit = await cpuCgroup({
    path: `/kubepods/besteffort/pod${cruncher}/${containerId()}`,
    quotaCores: null,
    cpu,
  });
  observer = await startObserver({
    args: ["--sample-interval-ms", "500", "--stolen-event-ms", "50"],
  });
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => {
      c.observers.urls = [observer.url];
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
  await victim.stop();
  await culprit.stop();
  await closeTestCluster();
});

test("a pod delayed by a spinning neighbour gets a whisper naming the neighbour", async () => {
  await culprit.startLoad();
  await victim.startLoad();
  await sleep(3_000);
  const kw = await eventually<KernelWhisper>(
    "run-queue delay whisper about the latency pod",
    async () =>
      (await listWhispers(kube, ns)).find(
        (w) =>
          w.spec.signal === "runqueue-delay" &&
          w.spec.subject.pod === "latency" &&
          w.spec.kernelTruth.attributes?.culpritPod === "cruncher" &&
          w.status?.insight,
      ),
    30_000,
  ).catch(async (err: unknown) => {
    // What the operator did write instead (e.g. another culprit on a busy machine).
    for (const w of await listWhispers(kube, ns)) {
      console.log(JSON.stringify({ spec: w.spec, insight: w.status?.insight }));
    }
    throw err;
  });
  await victim.stopLoad();
  await culprit.stopLoad();
  const q = (name: string) => kw.spec.kernelTruth.quantities.find((x) => x.name === name)?.value;
  assert.equal(kw.spec.source, "observer");
  assert.equal(kw.spec.subject.cgroupPath, victim.path);
  // On a quiet node the spinner is the top culprit; other processes on this
  // shared machine can take more, and are then named first (as "/").
  assert.equal(kw.spec.kernelTruth.attributes?.culpritPodCgroup, culprit.path);
  assert.ok((q("culpritPodSeconds") ?? 0) > 0, JSON.stringify(kw.spec.kernelTruth));
  assert.ok((q("culpritPodSeconds") ?? 0) <= (q("runqueueDelaySeconds") ?? 0) + 1e-9);
  const insight = kw.status?.insight ?? "";
  assert.match(insight, /delayed by .* for .* on node local/);
  const why = kw.status?.recommendation?.rationale ?? "";
  assert.match(
    why,
    new RegExp(`pod culprit ${ns}/cruncher .*is BestEffort \\(no CPU request, no CPU limit\\)`),
  );
  assert.match(why, /raise .*latency.*CPU request \(now 100m\)/);
  console.log(`whisper: ${insight}\nrecommendation: ${why}`);
});
