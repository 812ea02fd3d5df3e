// Observer events → evidence for one subject and window: matching by names,
// pod UID or container id, and the numbers the kernel's events add up to.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ObserverEvent, Workload } from "../../shared/model/observer-events.ts";
import { aggregate, type PodIds } from "./aggregate.ts";
import type { EvidenceQuery } from "./query.ts";

const T0 = Date.parse("2026-11-25T10:00:00Z");
const UID = "0d6f2c9e-1b7a-4c1e-9a55-3f1d2a7b9c01";
const CID = "a".repeat(64);
const cgroup = `/kubepods/burstable/pod${UID}/${CID}`;
const byIds: Workload = { kind: "container", podUID: UID, containerID: CID, cgroup };
let seq = 0;

const oom = (ms: number, w: Workload = byIds): ObserverEvent => ({
  seq: ++seq,
  ts: new Date(T0 + ms).toISOString(),
  tsUnixMs: T0 + ms,
  node: "node-a",
  workload: w,
  type: "oom_kill",
  evidence: {
    pid: 100 + seq,
    tgid: 100 + seq,
    comm: "tail",
    anonRssBytes: 16 << 20,
    fileRssBytes: 0,
    shmemRssBytes: 0,
    totalVmBytes: 20 << 20,
    oomScoreAdj: 0,
    uid: 0,
    memcg: cgroup,
  },
});

const episode = (startMs: number, endMs: number, throttled: number, ongoing = false) =>
  ({
    seq: ++seq,
    ts: new Date(T0 + endMs).toISOString(),
    tsUnixMs: T0 + endMs,
    node: "node-a",
    workload: byIds,
    type: "throttle_episode",
    evidence: {
      start: new Date(T0 + startMs).toISOString(),
      end: new Date(T0 + endMs).toISOString(),
      durationSeconds: (endMs - startMs) / 1000,
      periods: 10 * ((endMs - startMs) / 1000),
      throttledPeriods: throttled,
      ratio: throttled / (10 * ((endMs - startMs) / 1000)),
      throttledSeconds: throttled * 0.08,
      limitCores: 0.2,
      usageSeconds: (0.2 * (endMs - startMs)) / 1000,
      ongoing,
    },
  }) satisfies ObserverEvent;

const query = (signal: EvidenceQuery["signal"], over: Partial<EvidenceQuery> = {}) => ({
  signal,
  subject: { namespace: "shop", pod: "web-0", container: "app" },
  startMs: T0,
  endMs: T0 + 300_000,
  ...over,
});
const pod: PodIds = { uid: UID, containerIds: {}, containers: ["app"] };

test("OOM kills of the pod's only container are counted; the latest victim is described", () => {
  const events = [oom(1_000), oom(2_000), oom(400_000) /* after the window */];
  const r = aggregate(query("oom-kill"), events, pod);
  assert.ok(r);
  const q = Object.fromEntries(r.kernelTruth.quantities.map((x) => [x.name, x.value]));
  assert.equal(q.oomKills, 2);
  assert.equal(q.victimRssBytes, 16 << 20);
  assert.deepEqual(r.kernelTruth.window, {
    start: new Date(T0 + 1_000).toISOString(),
    end: new Date(T0 + 2_000).toISOString(),
  });
  assert.equal(r.kernelTruth.attributes?.comm, "tail");
});

test("a container is matched by name, by id through the pod's status, or as the only one", () => {
  const two: PodIds = {
    uid: UID,
    containerIds: { [CID]: "sidecar" },
    containers: ["app", "sidecar"],
  };
  assert.equal(
    aggregate(query("oom-kill"), [oom(1_000)], two),
    undefined,
    "the id names another container",
  );
  assert.ok(
    aggregate(
      query("oom-kill", { subject: { namespace: "shop", pod: "web-0", container: "sidecar" } }),
      [oom(1_000)],
      two,
    ),
  );
  const named = oom(1_000, {
    kind: "container",
    namespace: "shop",
    pod: "web-0",
    container: "app",
    cgroup,
  });
  assert.ok(aggregate(query("oom-kill"), [named], undefined));
  // A pod-level cgroup is not the container; another pod's UID is not the pod.
  assert.equal(
    aggregate(query("oom-kill"), [oom(1_000, { kind: "pod", podUID: UID, cgroup: "/p" })], pod),
    undefined,
  );
  assert.equal(
    aggregate(query("oom-kill"), [oom(1_000, { ...byIds, podUID: "other" })], pod),
    undefined,
  );
});

test("throttle episodes: progress reports are superseded, numbers add up over the episodes", () => {
  const events = [
    episode(0, 10_000, 50, true),
    episode(0, 20_000, 120),
    episode(60_000, 65_000, 40),
  ];
  const r = aggregate(query("cpu-throttling"), events, pod);
  assert.ok(r);
  const q = Object.fromEntries(r.kernelTruth.quantities.map((x) => [x.name, x.value]));
  assert.equal(q.episodes, 2);
  assert.equal(q.throttledPeriods, 160);
  assert.equal(q.periods, 250);
  assert.equal(q.throttledPeriodsRatio, 160 / 250);
  assert.equal(q.cpuLimitCores, 0.2);
  assert.equal(r.kernelTruth.window.end, new Date(T0 + 65_000).toISOString());
  assert.equal(
    r.metricsView?.quantities.find((x) => x.name === "avgCpuUsagePercentOfLimit")?.value,
    100,
  );
});

test("drop bursts keep to the asked reason", () => {
  const burst = (reason: string, drops: number) =>
    ({
      seq: ++seq,
      ts: new Date(T0 + 5_000).toISOString(),
      tsUnixMs: T0 + 5_000,
      node: "node-a",
      workload: { kind: "cgroup", cgroup: "/web" },
      type: "drop_burst",
      evidence: { reason, netns: 4026531840, drops, intervalSeconds: 1 },
    }) satisfies ObserverEvent;
  const q = query("packet-drops", { subject: { cgroupPath: "/web" }, reason: "NO_SOCKET" });
  const r = aggregate(q, [burst("NO_SOCKET", 300), burst("NETFILTER_DROP", 7)], undefined);
  assert.equal(r?.kernelTruth.quantities[0]?.value, 300);
  assert.equal(r.kernelTruth.attributes?.reason, "NO_SOCKET");
});
