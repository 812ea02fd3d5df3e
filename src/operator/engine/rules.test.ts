import assert from "node:assert/strict";
import { test } from "node:test";
import type { Finding } from "./finding.ts";
import type { ObserverEvent } from "../../shared/model/observer-events.ts";
import { eventToFinding } from "../observer/to-finding.ts";
import { qosClass, type PodInfo } from "./pod-info.ts";
import { formatCpu, formatMemory, parseQuantity } from "./quantity.ts";
import { assess } from "./rules.ts";
import { DEFAULT_THRESHOLDS } from "./thresholds.ts";

const window = { start: "2026-11-25T10:00:00.000Z", end: "2026-11-25T10:05:00.000Z" };
const pod: PodInfo = {
  namespace: "shop",
  name: "checkout-1",
  uid: "u1",
  containers: [{ name: "app", cpuLimitCores: 0.5, memoryLimitBytes: 256 * 2 ** 20 }],
  owner: { apiVersion: "apps/v1", kind: "Deployment", name: "checkout" },
};
const ctx = {
  pod,
  occurrences: 1,
  firstSeen: new Date(window.start),
  thresholds: DEFAULT_THRESHOLDS,
};

const throttling = (ratio: number, usagePct?: number): Finding => ({
  subject: { namespace: "shop", pod: "checkout-1", container: "app" },
  signal: "cpu-throttling",
  source: "observer",
  observedAt: new Date(window.end),
  kernelTruth: {
    window,
    quantities: [
      { name: "throttledPeriodsRatio", value: ratio, unit: "ratio" },
      { name: "throttledSeconds", value: 12, unit: "seconds" },
    ],
  },
  ...(usagePct !== undefined
    ? {
        metricsView: {
          window,
          quantities: [
            { name: "avgCpuUsagePercentOfLimit", value: usagePct, unit: "percent" as const },
          ],
        },
      }
    : {}),
});

test("quantities parse and format the way Kubernetes writes them", () => {
  assert.equal(parseQuantity("500m"), 0.5);
  assert.equal(parseQuantity("2"), 2);
  assert.equal(parseQuantity("256Mi"), 256 * 2 ** 20);
  assert.equal(parseQuantity("1G"), 1e9);
  assert.equal(parseQuantity("lots"), undefined);
  assert.equal(formatCpu(0.8101), "811m");
  assert.equal(formatCpu(2), "2");
  assert.equal(formatMemory(320 * 2 ** 20), "320Mi");
  assert.equal(formatMemory(2 ** 31), "2Gi");
});

test("bursty throttling (low average usage) proposes a higher limit on the Deployment", () => {
  const a = assess(throttling(0.62, 38), ctx);
  assert.equal(a.severity, "critical");
  assert.match(a.insight, /62% of CFS periods.*only 38% of the limit/);
  assert.equal(a.recommendation.action, "raise-cpu-limit");
  assert.match(a.recommendation.rationale, /hides bursts/);
  const c = a.recommendation.change;
  assert.ok(c);
  assert.deepEqual(c.target, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    name: "checkout",
    namespace: "shop",
  });
  assert.equal(c.field, "spec.template.spec.containers[name=app].resources.limits.cpu");
  assert.equal(c.from, "500m");
  assert.equal(c.to, "810m"); // 0.5 × (1 + 0.62)
  assert.deepEqual(JSON.parse(c.patch ?? ""), {
    spec: {
      template: { spec: { containers: [{ name: "app", resources: { limits: { cpu: "810m" } } }] } },
    },
  });
});

test("sustained throttling sizes the limit from demand with headroom", () => {
  const a = assess(throttling(0.15, 100), ctx);
  assert.equal(a.severity, "warning");
  assert.match(a.recommendation.rationale, /Demand meets the 500m limit/);
  assert.equal(a.recommendation.change?.to, "625m"); // 1.00 × 0.5 × 1.25
});

test("light throttling is info, and an alert's severity wins", () => {
  assert.equal(assess(throttling(0.05), ctx).severity, "info");
  assert.equal(assess({ ...throttling(0.05), severity: "critical" }, ctx).severity, "critical");
});

test("without a known limit there is no change to propose", () => {
  const a = assess(
    { ...throttling(0.5), subject: { cgroupPath: "/system.slice/x.service" } },
    { ...ctx, pod: undefined },
  );
  assert.equal(a.recommendation.action, "none");
  assert.equal(a.recommendation.change, undefined);
});

test("an OOM kill raises the memory limit from the observed peak, and repeated kills mention a leak", () => {
  const f: Finding = {
    subject: { namespace: "shop", pod: "checkout-1", container: "app" },
    signal: "oom-kill",
    source: "observer",
    observedAt: new Date(window.end),
    kernelTruth: {
      window: { start: window.end, end: window.end },
      quantities: [
        { name: "victimPid", value: 4242, unit: "pid" },
        { name: "victimRssBytes", value: 250 * 2 ** 20, unit: "bytes" },
      ],
      attributes: { comm: "java" },
    },
  };
  const once = assess(f, ctx);
  assert.equal(once.severity, "critical");
  assert.match(once.insight, /OOM-killed java \(pid 4242\)/);
  assert.equal(once.recommendation.change?.to, "320Mi"); // 256Mi × 1.25
  const thrice = assess(f, { ...ctx, occurrences: 3 });
  assert.match(thrice.recommendation.rationale, /killed 3 times.*leak/);
});

test("packet drops explain the kernel's reason", () => {
  const f: Finding = {
    subject: { cgroupPath: "/kg" },
    signal: "packet-drops",
    source: "observer",
    observedAt: new Date(window.end),
    kernelTruth: {
      window,
      quantities: [{ name: "drops", value: 500, unit: "packets" }],
      attributes: { reason: "NETFILTER_DROP" },
    },
  };
  const a = assess(f, { ...ctx, pod: undefined });
  assert.equal(a.severity, "warning");
  assert.equal(a.recommendation.action, "investigate-network");
  assert.match(a.recommendation.rationale, /NETFILTER_DROP: a netfilter/);
});

test("run-queue delay grades by p99 and points at contention", () => {
  const f: Finding = {
    subject: { namespace: "shop", pod: "checkout-1" },
    signal: "runqueue-delay",
    source: "grafana",
    observedAt: new Date(window.end),
    kernelTruth: {
      window,
      quantities: [{ name: "runqueueDelayP99Seconds", value: 0.08, unit: "seconds" }],
    },
  };
  const a = assess(f, ctx);
  assert.equal(a.severity, "critical");
  assert.match(a.insight, /80\.0 ms \(p99\)/);
  assert.equal(a.recommendation.action, "spread-replicas");
});

test("a cpu_stolen event names the culprit, its QoS class and requests/limits (ADR 0095)", () => {
  const ev: ObserverEvent = {
    seq: 1,
    ts: "2026-11-25T10:00:01.000Z",
    tsUnixMs: Date.parse("2026-11-25T10:00:01.000Z"),
    node: "node-a",
    type: "cpu_stolen",
    workload: {
      kind: "container",
      namespace: "shop",
      pod: "checkout-1",
      container: "app",
      podUID: "u1",
      cgroup: "/kubepods/burstable/podu1/c1",
    },
    evidence: {
      intervalSeconds: 1,
      delaySeconds: 0.6,
      stolenSeconds: 0.55,
      selfSeconds: 0.03,
      otherSeconds: 0,
      unknownSeconds: 0.02,
      culprits: [
        {
          workload: {
            kind: "container",
            namespace: "batch",
            pod: "crunch-7",
            container: "work",
            podUID: "u2",
            cgroup: "/kubepods/besteffort/podu2/c2",
          },
          seconds: 0.5,
          share: 0.83,
        },
        {
          workload: { kind: "service", cgroup: "/system.slice/backup.service" },
          seconds: 0.05,
          share: 0.08,
        },
      ],
    },
  };
  const f = eventToFinding(ev);
  assert.ok(f);
  assert.equal(f.signal, "runqueue-delay");
  assert.equal(f.kernelTruth.attributes?.culprit, "batch/crunch-7 (work)");
  assert.match(f.kernelTruth.attributes.otherCulprits ?? "", /backup\.service 0\.050 s/);
  const culprit: PodInfo = {
    namespace: "batch",
    name: "crunch-7",
    uid: "u2",
    containers: [{ name: "work" }],
  };
  const a = assess(f, { ...ctx, culprit });
  assert.equal(a.severity, "critical", "0.55 s of 1 s taken: over the 50% critical share");
  assert.match(
    a.insight,
    /waited 600\.0 ms for a CPU over 1\.0 s, delayed by batch\/crunch-7 \(work\) for 500\.0 ms \(83% of it\), on node node-a/,
  );
  assert.match(
    a.recommendation.rationale,
    /pod culprit batch\/crunch-7 \(took 500\.0 ms\) is BestEffort \(no CPU request, no CPU limit\)/,
  );
  assert.match(a.recommendation.rationale, /pod anti-affinity, another node than node-a/);
  assert.equal(a.recommendation.action, "spread-replicas");
  // The host's processes took the most: reserve CPU for them, then the pod advice.
  const hostFirst = eventToFinding({
    ...ev,
    evidence: { ...ev.evidence, culprits: [...ev.evidence.culprits].reverse() },
  });
  assert.ok(hostFirst);
  assert.equal(hostFirst.kernelTruth.attributes?.culpritPod, "crunch-7");
  const b = assess(hostFirst, { ...ctx, culprit });
  assert.match(b.insight, /delayed by \/system\.slice\/backup\.service/);
  assert.match(
    b.recommendation.rationale,
    /^Most of the wait went to \/system\.slice\/backup\.service, which is not a pod.*The pod culprit batch\/crunch-7/,
  );
});

test("QoS class follows Kubernetes' rule", () => {
  const p = (containers: PodInfo["containers"]): PodInfo => ({
    namespace: "n",
    name: "p",
    uid: "u",
    containers,
  });
  assert.equal(qosClass(p([{ name: "a" }])), "BestEffort");
  assert.equal(qosClass(p([{ name: "a", cpuLimitCores: 1, memoryLimitBytes: 10 }])), "Guaranteed");
  assert.equal(
    qosClass(p([{ name: "a", cpuLimitCores: 1, cpuRequestCores: 0.5, memoryLimitBytes: 10 }])),
    "Burstable",
  );
  assert.equal(qosClass(p([{ name: "a", cpuRequestCores: 0.1 }])), "Burstable");
});
