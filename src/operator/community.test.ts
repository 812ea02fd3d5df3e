// The community alerts users already route to Alertmanager (ADR 0076), with
// real parts: each alert is pushed into a real Alertmanager with the label set
// its upstream rule produces (alerts/community.ts quotes the rules), and the
// Alertmanager posts its v4 webhook to the operator. The alerts carry no
// numbers; the kernel events behind them are real — a busy loop the kernel
// throttles in a pod's cgroup, tasks the kernel OOM-kills in a pod's memory
// cgroup, page-cache reclaim that makes tasks stall — seen by the real
// observer (without API access: events name pods only by UID) and scraped by
// a real Prometheus. Each whisper must carry the evidence the operator fetched
// for the alert's subject and window, checked against the kernel's own
// counters, or say plainly that the kernel recorded none. Root (BPF, cgroups).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { KernelWhisper } from "../shared/model/kernel-whisper.ts";
import { startAlertmanager, type Alertmanager } from "../local/runtime/alertmanager.ts";
import { containerId, cpuCgroup, type CpuCgroup } from "../../tests/env/cgroup.ts";
import { memoryCgroup, type MemoryCgroup } from "../../tests/env/memcg.ts";
import { startObserver, type Observer } from "../local/runtime/observer.ts";
import { sleep } from "../local/runtime/process.ts";
import { startPrometheus, type Prometheus } from "../local/runtime/prometheus.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { RunningOperator } from "./operator.ts";
import {
  eventually,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../tests/support/operator.ts";

const PSI_ROOT = "/sys/fs/cgroup/unified/memory.pressure";
let kube: TestCluster;
let ns: string;
let observer: Observer;
let prom: Prometheus;
let am: Alertmanager;
let op: RunningOperator;
let web: CpuCgroup;
const memcgs: Record<string, MemoryCgroup> = {};
let reclaiming: MemoryCgroup;
let psiAtStart = 0;

/** The kernel's total "some" memory stall time of the whole node, in seconds. */
const nodeStallSeconds = () => {
  const path = existsSync(PSI_ROOT) ? PSI_ROOT : "/proc/pressure/memory";
  const line = readFileSync(path, "utf8")
    .split("\n")
    .find((l) => l.startsWith("some "));
  return Number(/total=(\d+)/.exec(line ?? "")?.[1] ?? NaN) / 1e6;
};

async function pod(name: string, limits: Record<string, string>): Promise<string> {
  const body = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: {
      nodeName: "local",
      automountServiceAccountToken: false,
      containers: [{ name: "app", image: "busybox:1.36", resources: { limits, requests: limits } }],
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
  ns = await kube.namespace("op-community");
  // kubelet's cgroupfs layout for each pod's one container (the observer reads the pod
  // UID from it), under a root of our own so a kubelet on this host never meets it.
  const root = `/kg-community-${randomBytes(3).toString("hex")}/kubepods`;
  const uid = await pod("web-0", { cpu: "200m" });
  web = await cpuCgroup({ path: `${root}/pod${uid}/${containerId()}`, quotaCores: 0.2 });
  for (const name of ["worker-0", "worker-1", "flaky-0"]) {
    const u = await pod(name, { memory: "16Mi" });
    memcgs[name] = await memoryCgroup({ path: `${root}/pod${u}/${containerId()}` });
  }
  reclaiming = await memoryCgroup({ limitBytes: 48 * 2 ** 20 });
  observer = await startObserver({ args: ["--sample-interval-ms", "250"] });
  psiAtStart = nodeStallSeconds();
  prom = await startPrometheus({
    scrapeTargets: [{ url: observer.url, labels: { node: "local" } }],
    scrapeInterval: "1s",
  });
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => {
      c.observers.urls = [observer.url];
      c.evidence.prometheusUrl = prom.url;
      c.whispers.quietPeriodMs = 10 * 60_000;
    }),
  );
  am = await startAlertmanager({ webhookUrl: `${op.url}/webhooks/alertmanager` });
  await eventually("stream connected", async () =>
    /kernel_gossip_operator_observer_streams 1/.test(
      await (await fetch(`${op.url}/metrics`)).text(),
    )
      ? true
      : undefined,
  );
});
after(async () => {
  const stops = [
    () => am.stop(),
    () => op.stop(),
    () => prom.stop(),
    () => observer.stop(),
    () => web.stop(),
    () => reclaiming.stop(),
    // Newest first: the first one made the shared parent directories and removes them last.
    ...Object.values(memcgs)
      .reverse()
      .map((m) => () => m.stop()),
  ];
  for (const stop of stops) await stop().catch(() => undefined);
  await closeTestCluster();
});

/** Pushes one firing alert into Alertmanager, as Prometheus would; Alertmanager posts the v4 webhook. */
async function fire(labels: Record<string, string>) {
  const res = await fetch(`${am.url}/api/v2/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify([
      {
        labels,
        annotations: { summary: `test alert ${labels.alertname ?? ""}` },
        startsAt: new Date().toISOString(),
        generatorURL: "http://prometheus.test/graph",
      },
    ]),
  });
  assert.equal(res.status, 200, await res.text());
}

/**
 * The whisper an alert made. (The operator streams the same observer, so the kernel
 * events also make observer-sourced whispers; without API access the observer cannot
 * name the container, so those are about the pod and are separate.)
 */
const whisper = (what: string, pick: (w: KernelWhisper) => boolean) =>
  eventually<KernelWhisper>(
    what,
    async () =>
      (await listWhispers(kube, ns)).find(
        (w) => w.spec.source === "alertmanager" && w.status?.insight !== undefined && pick(w),
      ),
    30_000,
  );
const q = (w: KernelWhisper, name: string) =>
  w.spec.kernelTruth.quantities.find((x) => x.name === name)?.value;

test("kubernetes-mixin CPUThrottlingHigh: throttling the operator read from the observer's replay", async () => {
  await web.startLoad();
  await sleep(2_000);
  await web.stopLoad();
  await sleep(1_000); // an unthrottled sample closes the episode
  const stat = await web.cpuStat();
  // The rule sums `without (id, metrics_path, name, image, endpoint, job, node)`.
  await fire({
    alertname: "CPUThrottlingHigh",
    namespace: ns,
    pod: "web-0",
    container: "app",
    instance: "10.0.0.7:10250",
    service: "kubelet",
    severity: "info",
  });
  const kw = await whisper("throttling whisper", (w) => w.spec.signal === "cpu-throttling");
  assert.equal(kw.spec.source, "alertmanager");
  assert.deepEqual(kw.spec.subject, { namespace: ns, pod: "web-0", container: "app" });
  assert.equal(kw.spec.kernelTruth.attributes?.alertname, "CPUThrottlingHigh");
  assert.match(
    kw.spec.kernelTruth.origin ?? "",
    /evidence fetched by the operator: observer \/events replay/,
  );
  const throttled = q(kw, "throttledPeriods") ?? 0;
  assert.ok(
    throttled > 0 && throttled <= stat.nrThrottled,
    `evidence ${throttled} throttled periods vs the kernel's cpu.stat ${stat.nrThrottled}`,
  );
  assert.equal(q(kw, "throttledPeriodsRatio"), throttled / (q(kw, "periods") ?? NaN));
  assert.equal(q(kw, "cpuLimitCores"), 0.2);
  assert.equal(kw.status?.recommendation?.action, "raise-cpu-limit");
  assert.equal(kw.status.recommendation.change?.from, "200m");
});

test("kubernetes-mixin KubePodCrashLooping: the OOM kills behind it, counted as the kernel counted them", async () => {
  const cg = memcgs["worker-0"];
  assert.ok(cg);
  await cg.oomOnce();
  await cg.oomOnce();
  const kills = await cg.kernelKills();
  assert.equal(kills, 2);
  // kube_pod_container_status_waiting_reason's labels, as kube-state-metrics exports them.
  await fire({
    alertname: "KubePodCrashLooping",
    namespace: ns,
    pod: "worker-0",
    container: "app",
    reason: "CrashLoopBackOff",
    uid: "ksm-uid",
    job: "kube-state-metrics",
    instance: "10.0.0.9:8080",
    severity: "warning",
  });
  const kw = await whisper(
    "OOM whisper for worker-0",
    (w) => w.spec.signal === "oom-kill" && w.spec.subject.pod === "worker-0",
  );
  assert.equal(q(kw, "oomKills"), kills, "evidence vs the kernel's memory.oom_control oom_kill");
  assert.equal(kw.spec.kernelTruth.attributes?.comm, "tail");
  assert.equal(kw.spec.kernelTruth.attributes.alertReason, "CrashLoopBackOff");
  assert.match(kw.status?.insight ?? "", /OOM-killed tail/);
  assert.equal(kw.status?.recommendation?.action, "raise-memory-limit");
});

test("KubernetesContainerOomKiller and kube-state-metrics' OOMKilled reason: evidence for each delivery", async () => {
  const cg = memcgs["worker-1"];
  assert.ok(cg);
  await cg.oomOnce();
  await fire({
    alertname: "KubernetesContainerOomKiller",
    namespace: ns,
    pod: "worker-1",
    container: "app",
    uid: "ksm-uid",
    job: "kube-state-metrics",
    instance: "10.0.0.9:8080",
    severity: "warning",
  });
  const first = await whisper(
    "OOM whisper for worker-1",
    (w) => w.spec.signal === "oom-kill" && w.spec.subject.pod === "worker-1",
  );
  assert.equal(q(first, "oomKills"), await cg.kernelKills());
  await cg.oomOnce();
  // Any rule over kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}.
  await fire({
    alertname: "ContainerOOMKilled",
    namespace: ns,
    pod: "worker-1",
    container: "app",
    reason: "OOMKilled",
    job: "kube-state-metrics",
  });
  const second = await whisper(
    "second delivery",
    (w) => w.metadata.name === first.metadata.name && w.spec.occurrences === 2,
  );
  assert.equal(q(second, "oomKills"), await cg.kernelKills());
  assert.equal(second.spec.kernelTruth.attributes?.alertname, "ContainerOOMKilled");
});

test("a crash loop the kernel did not cause says so plainly", async () => {
  const cg = memcgs["flaky-0"];
  assert.ok(cg);
  assert.equal(await cg.kernelKills(), 0);
  await fire({
    alertname: "KubePodCrashLooping",
    namespace: ns,
    pod: "flaky-0",
    container: "app",
    reason: "CrashLoopBackOff",
    job: "kube-state-metrics",
    severity: "warning",
  });
  const kw = await whisper("no-evidence whisper", (w) => w.spec.subject.pod === "flaky-0");
  assert.equal(kw.spec.kernelTruth.attributes?.kernelEvidence, "none");
  assert.match(kw.status?.insight ?? "", /kernel recorded no OOM kill there/);
  assert.equal(kw.status?.recommendation?.action, "none");
  assert.match(kw.status.recommendation.rationale, /exit code and logs/);
  assert.match(
    kw.spec.kernelTruth.origin ?? "",
    /no kernel evidence in: the \/events replay of 1 of 1 observer/,
  );
  const metrics = await (await fetch(`${op.url}/metrics`)).text();
  assert.match(
    metrics,
    /kernel_gossip_operator_evidence_lookups_total\{signal="oom-kill",result="none"\} 1\n/,
  );
});

test("node-exporter memory alerts: the node's memory stalls, fetched from Prometheus", async () => {
  // Page cache beyond a 48 MiB limit: the kernel reclaims, tasks stall on memory.
  await reclaiming.reclaim(160);
  await sleep(3_000); // two scrapes after
  assert.ok(nodeStallSeconds() - psiAtStart > 0, "the kernel recorded no memory stall");
  let occurrences = 0;
  // node-mixin and awesome-prometheus-alerts: labels of node_vmstat_pgmajfault /
  // node_memory_* plus, in kube-prometheus, the exporter pod's own target labels.
  for (const alertname of [
    "NodeMemoryMajorPagesFaults",
    "HostMemoryUnderMemoryPressure",
    "NodeMemoryHighUtilization",
  ]) {
    await fire({
      alertname,
      instance: "local:9100",
      job: "node-exporter",
      namespace: "monitoring",
      pod: "node-exporter-x7k2p",
      container: "node-exporter",
      severity: "warning",
    });
    occurrences++;
    const kw = await whisper(
      `memory-pressure whisper from ${alertname}`,
      (w) =>
        w.spec.signal === "memory-pressure" &&
        w.spec.occurrences === occurrences &&
        w.spec.kernelTruth.attributes?.alertname === alertname,
    );
    assert.deepEqual(kw.spec.subject, { node: "local", cgroupPath: "/" });
    assert.match(kw.spec.kernelTruth.origin ?? "", /evidence fetched by the operator: Prometheus/);
    // Prometheus' samples were all taken before now, after psiAtStart: an upper bound.
    const kernelDelta = nodeStallSeconds() - psiAtStart;
    const stall = q(kw, "stallSeconds") ?? 0;
    assert.ok(
      stall > 0 && stall <= kernelDelta + 1e-6,
      `evidence ${stall} s vs the kernel's node-wide PSI growth ${kernelDelta} s`,
    );
    assert.match(kw.status?.insight ?? "", /Tasks of node local stalled/);
  }
});
