// Observer event → Finding. Quantity names are the contract with the rules
// (engine/rules.ts) and the gateway; units are always stated.
import type { Evidence, Quantity } from "../../shared/model/common.ts";
import type { Subject } from "../../shared/model/kernel-whisper.ts";
import type {
  CpuStolen,
  ObserverEvent,
  ThrottleEpisode,
  Workload,
} from "../../shared/model/observer-events.ts";
import type { Finding } from "../engine/finding.ts";

export type PodLookup = (uid: string) => { namespace: string; name: string } | undefined;

export function subjectOf(w: Workload, node: string, lookup?: PodLookup): Subject {
  // The observer names pods when it can reach the API; otherwise the pod UID from
  // the cgroup path is resolved here.
  const known = w.pod !== undefined && w.namespace !== undefined ? { namespace: w.namespace, name: w.pod } : undefined;
  const pod = known ?? (w.podUID && lookup ? lookup(w.podUID) : undefined);
  const withPod = pod !== undefined;
  return {
    ...(pod ? { namespace: pod.namespace, pod: pod.name } : {}),
    ...(withPod && w.container ? { container: w.container } : {}),
    ...(node ? { node } : {}),
    ...(w.podUID ? { podUID: w.podUID } : {}),
    ...(w.containerID ? { containerID: w.containerID.slice(0, 128) } : {}),
    cgroupPath: w.cgroup || "/",
  };
}

const evidence = (start: string, end: string, quantities: Quantity[], origin: string, attributes?: Record<string, string>): Evidence => ({
  window: { start, end },
  quantities,
  origin,
  ...(attributes ? { attributes } : {}),
});

/**
 * What an averaged CPU metric shows for the same window: mean usage, and as a
 * share of the limit — the number dashboards plot while the kernel throttles.
 */
function metricsView(e: ThrottleEpisode): Evidence | undefined {
  if (e.usageSeconds === undefined || e.durationSeconds <= 0) return undefined;
  const cores = e.usageSeconds / e.durationSeconds;
  const q: Quantity[] = [{ name: "avgCpuUsageCores", value: cores, unit: "cores" }];
  if (e.limitCores) q.push({ name: "avgCpuUsagePercentOfLimit", value: (cores / e.limitCores) * 100, unit: "percent" });
  return evidence(e.start, e.end, q, "cgroup CPU usage averaged over the same window");
}

/** A workload as one line: "ns/pod (container)", else its cgroup path. */
export function workloadName(w: Workload): string {
  if (w.pod) return `${w.namespace ?? ""}/${w.pod}${w.container ? ` (${w.container})` : ""}`;
  return w.cgroup;
}

/**
 * Who stole the CPU (ADR 0095): a run-queue delay finding whose evidence names
 * the top culprit; the rule reads the culprit's pod spec from these attributes.
 */
function cpuStolen(e: CpuStolen, tsUnixMs: number, node: string, lookup?: PodLookup): Evidence {
  const start = new Date(tsUnixMs - e.intervalSeconds * 1000).toISOString();
  // Culprit pods named by the observer, else by the operator's pod index (UID).
  const named = (w: Workload): Workload => {
    if (w.pod || !w.podUID || !lookup) return w;
    const p = lookup(w.podUID);
    return p ? { ...w, namespace: p.namespace, pod: p.name } : w;
  };
  const culprits = e.culprits.map((c) => ({ ...c, workload: named(c.workload) }));
  const top = culprits[0];
  const q: Quantity[] = [
    { name: "runqueueDelaySeconds", value: e.delaySeconds, unit: "seconds" },
    { name: "stolenSeconds", value: e.stolenSeconds, unit: "seconds" },
    { name: "selfDelaySeconds", value: e.selfSeconds, unit: "seconds" },
  ];
  const attributes: Record<string, string> = { node };
  if (top) {
    q.push({ name: "culpritSeconds", value: top.seconds, unit: "seconds" });
    q.push({ name: "culpritShare", value: Math.min(1, top.share), unit: "ratio" });
    attributes.culprit = workloadName(top.workload).slice(0, 1024);
    attributes.culpritCgroup = top.workload.cgroup.slice(0, 1024);
  }
  // The largest culprit that is a pod: what a recommendation can act on, even
  // when the host's own processes (a non-pod cgroup) took more.
  const pod = culprits.find((c) => c.workload.pod && c.workload.namespace);
  if (pod?.workload.pod && pod.workload.namespace) {
    q.push({ name: "culpritPodSeconds", value: pod.seconds, unit: "seconds" });
    attributes.culpritNamespace = pod.workload.namespace;
    attributes.culpritPod = pod.workload.pod;
    attributes.culpritPodCgroup = pod.workload.cgroup.slice(0, 1024);
    if (pod.workload.container) attributes.culpritContainer = pod.workload.container;
  }
  const others = culprits
    .slice(1)
    .map((c) => `${workloadName(c.workload)} ${c.seconds.toFixed(3)} s`)
    .join("; ");
  if (others) attributes.otherCulprits = others.slice(0, 1024);
  return evidence(
    start,
    new Date(tsUnixMs).toISOString(),
    q,
    "tp_btf sched:sched_switch: waits split by the cgroup that ran on the CPU meanwhile",
    attributes,
  );
}

/** The finding an observer event amounts to, or undefined for bookkeeping events. */
export function eventToFinding(ev: ObserverEvent, lookup?: PodLookup): Finding | undefined {
  const subject = subjectOf(ev.workload, ev.node, lookup);
  const observedAt = new Date(ev.tsUnixMs);
  const at = observedAt.toISOString();
  const base = { subject, source: "observer" as const, observedAt };
  switch (ev.type) {
    case "throttle_episode": {
      const e = ev.evidence;
      const q: Quantity[] = [
        { name: "throttledPeriodsRatio", value: Math.min(1, Math.max(0, e.ratio)), unit: "ratio" },
        { name: "throttledPeriods", value: e.throttledPeriods, unit: "count" },
        { name: "periods", value: e.periods, unit: "count" },
        { name: "throttledSeconds", value: e.throttledSeconds, unit: "seconds" },
      ];
      if (e.limitCores !== null) q.push({ name: "cpuLimitCores", value: e.limitCores, unit: "cores" });
      return {
        ...base,
        signal: "cpu-throttling",
        episode: e.start,
        kernelTruth: evidence(e.start, e.end, q, "cgroup cpu.stat nr_periods/nr_throttled/throttled_time, sampled by the observer"),
        ...(metricsView(e) ? { metricsView: metricsView(e) } : {}),
      };
    }
    case "oom_kill": {
      const e = ev.evidence;
      const rss = e.anonRssBytes + e.fileRssBytes + e.shmemRssBytes;
      return {
        ...base,
        signal: "oom-kill",
        kernelTruth: evidence(
          at,
          at,
          [
            { name: "victimPid", value: e.pid, unit: "pid" },
            { name: "victimRssBytes", value: rss, unit: "bytes" },
            { name: "victimTotalVmBytes", value: e.totalVmBytes, unit: "bytes" },
          ],
          "tracepoint oom:mark_victim",
          { comm: e.comm, memcg: e.memcg.slice(0, 1024) },
        ),
      };
    }
    case "drop_burst": {
      const e = ev.evidence;
      const start = new Date(ev.tsUnixMs - e.intervalSeconds * 1000).toISOString();
      return {
        ...base,
        signal: "packet-drops",
        // Drops with different reasons are different whispers (ADR 0075).
        reason: e.reason,
        kernelTruth: evidence(start, at, [{ name: "drops", value: e.drops, unit: "packets" }], "tracepoint skb:kfree_skb", {
          reason: e.reason,
          netns: String(e.netns),
        }),
      };
    }
    case "retransmit_burst": {
      const e = ev.evidence;
      const start = new Date(ev.tsUnixMs - e.intervalSeconds * 1000).toISOString();
      return {
        ...base,
        signal: "tcp-retransmits",
        kernelTruth: evidence(start, at, [{ name: "retransmits", value: e.retransmits, unit: "count" }], "tracepoint tcp:tcp_retransmit_skb", {
          netns: String(e.netns),
        }),
      };
    }
    case "cpu_stolen":
      return {
        ...base,
        signal: "runqueue-delay",
        kernelTruth: cpuStolen(ev.evidence, ev.tsUnixMs, ev.node, lookup),
      };
    case "cgroup_created":
    case "cgroup_removed":
      return undefined;
  }
}
