// The recommendation engine: explicit rules per signal that combine the kernel
// evidence with the pod's spec. Pure functions — every rule is unit-tested and
// documented in src/operator/README.md ("Rules").
import type {
  Recommendation,
  ResourceChange,
  Severity,
} from "../../shared/model/kernel-whisper.ts";
import { dropReasonMeaning } from "./drop-reasons.ts";
import { SIGNAL_NOUN, quantity, type Finding } from "./finding.ts";
import { pickContainer, qosClass, type ContainerResources, type PodInfo } from "./pod-info.ts";
import { formatCpu, formatMemory } from "./quantity.ts";
import { grade, type Thresholds } from "./thresholds.ts";

export interface Assessment {
  severity: Severity;
  insight: string;
  recommendation: Recommendation;
}

export interface Context {
  pod?: PodInfo;
  /** The pod of the top culprit of a run-queue delay finding (ADR 0095), when it is a pod. */
  culprit?: PodInfo;
  occurrences: number;
  firstSeen: Date;
  thresholds: Thresholds;
}

const pct = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;
const secs = (s: number) => (s < 1 ? `${(s * 1000).toFixed(1)} ms` : `${s.toFixed(1)} s`);
const windowText = (f: Finding) => {
  const ms = Date.parse(f.kernelTruth.window.end) - Date.parse(f.kernelTruth.window.start);
  return ms > 0 ? `over ${secs(ms / 1000)}` : "at one instant";
};
const who = (f: Finding) =>
  f.subject.pod
    ? `${f.subject.namespace ?? ""}/${f.subject.pod}${f.subject.container ? ` (${f.subject.container})` : ""}`
    : f.subject.cgroupPath === "/" && f.subject.node
      ? `node ${f.subject.node}`
      : (f.subject.cgroupPath ?? "the workload");

/**
 * An alert whose subject the kernel has no record for (the operator looked,
 * ADR 0076): say so plainly, recommend nothing.
 */
function noEvidence(f: Finding): Assessment {
  const a = f.kernelTruth.attributes ?? {};
  const w = f.kernelTruth.window;
  return {
    severity: f.severity ?? "info",
    insight: `${a.alertname ? `${a.alertname} fired for` : "An alert named"} ${who(f)}, but the kernel recorded no ${SIGNAL_NOUN[f.signal]} there between ${w.start} and ${w.end}.`,
    recommendation: {
      action: "none",
      rationale:
        a.note ??
        "The alert's condition is not confirmed by the kernel for this window: check the rule and the workload's own logs.",
    },
  };
}

type Resource = "cpu" | "memory";

/** Owners whose pod template the API lets us change, so a change outlives the pod. */
export const TEMPLATED = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

/** The exact change: on the owning workload's template when there is one, else on the pod. */
export function resourceChange(
  pod: PodInfo,
  container: ContainerResources,
  kind: "limits" | "requests",
  resource: Resource,
  from: string | undefined,
  to: string,
): ResourceChange {
  const resources = { [kind]: { [resource]: to } };
  const entry = { name: container.name, resources };
  if (pod.owner && TEMPLATED.has(pod.owner.kind)) {
    return {
      target: { ...pod.owner, namespace: pod.namespace },
      container: container.name,
      field: `spec.template.spec.containers[name=${container.name}].resources.${kind}.${resource}`,
      from,
      to,
      patch: JSON.stringify({ spec: { template: { spec: { containers: [entry] } } } }),
    };
  }
  return {
    target: { apiVersion: "v1", kind: "Pod", namespace: pod.namespace, name: pod.name },
    container: container.name,
    field: `spec.containers[name=${container.name}].resources.${kind}.${resource}`,
    from,
    to,
    patch: JSON.stringify({ spec: { containers: [entry] } }),
  };
}

function cpuThrottling(f: Finding, ctx: Context): Assessment {
  const t = ctx.thresholds.cpuThrottling;
  const ratio = quantity(f.kernelTruth, "throttledPeriodsRatio") ?? 0;
  const throttledSeconds = quantity(f.kernelTruth, "throttledSeconds");
  const container = pickContainer(ctx.pod, f.subject.container);
  const limit = container?.cpuLimitCores ?? quantity(f.kernelTruth, "cpuLimitCores");
  const usagePct = quantity(f.metricsView, "avgCpuUsagePercentOfLimit");
  const severity = f.severity ?? grade(ratio, t.warningRatio, t.criticalRatio);
  const truth = `throttled ${who(f)} in ${pct(ratio)} of CFS periods ${windowText(f)}${
    throttledSeconds !== undefined ? ` (${secs(throttledSeconds)} stalled)` : ""
  }`;
  const insight =
    usagePct !== undefined
      ? `The kernel ${truth} while average CPU usage was only ${usagePct.toFixed(0)}% of the limit.`
      : `The kernel ${truth}.`;
  if (limit === undefined) {
    return {
      severity,
      insight,
      recommendation: {
        action: "none",
        rationale: "No CPU limit is known for this workload, so no limit change can be proposed.",
      },
    };
  }
  const bursty = usagePct !== undefined && usagePct < t.burstyUsagePercent;
  const demand = usagePct !== undefined ? (usagePct / 100) * limit * t.headroom : 0;
  const proposed = Math.max(limit * (1 + ratio), demand, limit + 0.1);
  const to = formatCpu(proposed);
  const rationale = bursty
    ? `Average usage (${usagePct.toFixed(0)}% of ${formatCpu(limit)}) hides bursts: its threads use up the quota early in each 100 ms period and then wait. Raise the limit to ${to}, set a CPU burst, or drop the CPU limit.`
    : `Demand meets the ${formatCpu(limit)} limit in ${pct(ratio)} of periods. Raise the limit to ${to} so the work fits the quota.`;
  const change =
    ctx.pod && container
      ? resourceChange(ctx.pod, container, "limits", "cpu", formatCpu(limit), to)
      : undefined;
  return { severity, insight, recommendation: { action: "raise-cpu-limit", rationale, change } };
}

function oomKill(f: Finding, ctx: Context): Assessment {
  const t = ctx.thresholds.oomKill;
  const rss = quantity(f.kernelTruth, "victimRssBytes") ?? 0;
  const comm = f.kernelTruth.attributes?.comm ?? "a process";
  const pid = quantity(f.kernelTruth, "victimPid");
  const container = pickContainer(ctx.pod, f.subject.container);
  const limit = container?.memoryLimitBytes ?? quantity(f.kernelTruth, "memoryLimitBytes");
  const insight = `The kernel OOM-killed ${comm}${pid !== undefined ? ` (pid ${pid})` : ""} in ${who(f)} at ${formatMemory(rss)} resident${
    ctx.occurrences > 1 ? `, ${ctx.occurrences} kills since ${ctx.firstSeen.toISOString()}` : ""
  }.`;
  const severity = f.severity ?? "critical";
  if (limit === undefined) {
    return {
      severity,
      insight,
      recommendation: {
        action: "none",
        rationale: "No memory limit is known for this workload; the node itself ran out of memory.",
      },
    };
  }
  const to = formatMemory(Math.max(limit, rss) * t.memoryMargin);
  const leak =
    ctx.occurrences >= t.leakAfterOccurrences
      ? ` It was killed ${ctx.occurrences} times: if its peak keeps growing, look for a leak before raising again.`
      : "";
  const rationale = `The container hit its ${formatMemory(limit)} memory limit. Raise the limit to ${to} (observed peak plus ${pct(t.memoryMargin - 1)} margin).${leak}`;
  const change =
    ctx.pod && container
      ? resourceChange(ctx.pod, container, "limits", "memory", formatMemory(limit), to)
      : undefined;
  return { severity, insight, recommendation: { action: "raise-memory-limit", rationale, change } };
}

/** A container's CPU requests and limits as one phrase. */
function cpuSpec(c: ContainerResources | undefined): string {
  if (!c) return "CPU requests/limits unknown";
  const req = c.cpuRequestCores ?? c.cpuLimitCores;
  const parts = [
    req !== undefined ? `requests ${formatCpu(req)}` : "no CPU request",
    c.cpuLimitCores !== undefined ? `limit ${formatCpu(c.cpuLimitCores)}` : "no CPU limit",
  ];
  return parts.join(", ");
}

/**
 * Who stole my CPU (ADR 0095): the waiting workload's delay with the cgroup
 * that ran meanwhile, and what to change on the culprit or the placement.
 */
function stolenDelay(f: Finding, ctx: Context): Assessment {
  const t = ctx.thresholds.runqueueDelay;
  const a = f.kernelTruth.attributes ?? {};
  const delay = quantity(f.kernelTruth, "runqueueDelaySeconds") ?? 0;
  const stolen = quantity(f.kernelTruth, "stolenSeconds") ?? 0;
  const culpritSeconds = quantity(f.kernelTruth, "culpritSeconds");
  const share = quantity(f.kernelTruth, "culpritShare");
  const w = f.kernelTruth.window;
  const windowSeconds = Math.max(1e-3, (Date.parse(w.end) - Date.parse(w.start)) / 1000);
  const severity =
    f.severity ?? grade(stolen / windowSeconds, t.stolenWarningRatio, t.stolenCriticalRatio);
  const node = a.node ?? f.subject.node;
  const culprit = a.culprit;
  const by =
    culprit && culpritSeconds !== undefined
      ? `, delayed by ${culprit} for ${secs(culpritSeconds)}${share !== undefined ? ` (${pct(share)} of it)` : ""}`
      : `, ${secs(stolen)} of it while other cgroups ran`;
  const insight = `Runnable threads of ${who(f)} waited ${secs(delay)} for a CPU ${windowText(f)}${by}${node ? `, on node ${node}` : ""}.`;
  const mine = pickContainer(ctx.pod, f.subject.container);
  const victimReq = mine?.cpuRequestCores ?? mine?.cpuLimitCores;
  const raise =
    victimReq !== undefined
      ? `raise ${who(f)}'s CPU request (now ${formatCpu(victimReq)}): under contention CPU time is shared by requests (cpu.shares/cpu.weight)`
      : `give ${who(f)} a CPU request: under contention CPU time is shared by requests, and without one it gets the minimum weight`;
  const podSeconds = quantity(f.kernelTruth, "culpritPodSeconds");
  const podName = a.culpritPod ? `${a.culpritNamespace ?? ""}/${a.culpritPod}` : undefined;
  // The host's own processes took more than any pod: say so before the pod advice.
  const host =
    culprit && !culprit.startsWith(podName ?? "\0")
      ? `Most of the wait went to ${culprit}, which is not a pod (system services or other cgroups on the node): reserve CPU for it (kubelet system-reserved / kube-reserved) or move it off the node. `
      : "";
  let rationale: string;
  if (ctx.culprit && podName) {
    const qos = qosClass(ctx.culprit);
    const c = pickContainer(ctx.culprit, a.culpritContainer);
    const limit = c?.cpuLimitCores;
    const fix =
      limit === undefined
        ? `Give it a CPU request that matches what it uses and a CPU limit`
        : `Lower its CPU limit (now ${formatCpu(limit)}) or raise its request to what it uses, so the scheduler reserves that CPU`;
    const took = podSeconds !== undefined ? ` (took ${secs(podSeconds)})` : "";
    rationale = `${host}The pod culprit ${podName}${took} is ${qos} (${cpuSpec(c)}). ${fix}; or ${raise}; or keep the two apart (pod anti-affinity, another node${node ? ` than ${node}` : ""}).`;
  } else if (host) {
    rationale = `${host}Or ${raise}.`;
  } else {
    rationale = `Other cgroups took the CPU: ${raise}, or spread replicas across nodes.`;
  }
  return { severity, insight, recommendation: { action: "spread-replicas", rationale } };
}

function runqueueDelay(f: Finding, ctx: Context): Assessment {
  if (quantity(f.kernelTruth, "stolenSeconds") !== undefined) return stolenDelay(f, ctx);
  const t = ctx.thresholds.runqueueDelay;
  const p99 = quantity(f.kernelTruth, "runqueueDelayP99Seconds") ?? 0;
  const severity = f.severity ?? grade(p99, t.warningSeconds, t.criticalSeconds);
  return {
    severity,
    insight: `Runnable threads of ${who(f)} waited ${secs(p99)} (p99) for a CPU ${windowText(f)}.`,
    recommendation: {
      action: "spread-replicas",
      rationale:
        "Waiting to run without being throttled means the node's CPUs are contended. Raise CPU requests so the scheduler reserves capacity, or spread replicas across nodes.",
    },
  };
}

function memoryPressure(f: Finding, ctx: Context): Assessment {
  const t = ctx.thresholds.memoryPressure;
  const stall = quantity(f.kernelTruth, "stallSeconds") ?? 0;
  const container = pickContainer(ctx.pod, f.subject.container);
  const limit = container?.memoryLimitBytes;
  const severity = f.severity ?? grade(stall, t.warningSeconds, t.criticalSeconds);
  const worst = f.kernelTruth.attributes?.mostStalledCgroup;
  const insight = `Tasks of ${who(f)} stalled ${secs(stall)} on memory ${windowText(f)}${
    worst ? ` (most in cgroup ${worst})` : ""
  }.`;
  if (limit === undefined || !ctx.pod || !container) {
    return {
      severity,
      insight,
      recommendation: {
        action: "none",
        rationale: "Reclaim stalls without a known container limit point at node memory pressure.",
      },
    };
  }
  const to = formatMemory(limit * t.memoryMargin);
  return {
    severity,
    insight,
    recommendation: {
      action: "raise-memory-limit",
      rationale: `The container keeps reclaiming against its ${formatMemory(limit)} limit. Raise it to ${to} or reduce its cache footprint.`,
      change: resourceChange(ctx.pod, container, "limits", "memory", formatMemory(limit), to),
    },
  };
}

function packetDrops(f: Finding, ctx: Context): Assessment {
  const t = ctx.thresholds.packetDrops;
  const drops = quantity(f.kernelTruth, "drops") ?? 0;
  const reason = f.reason ?? f.kernelTruth.attributes?.reason ?? "NOT_SPECIFIED";
  const meaning = dropReasonMeaning(reason);
  return {
    severity: f.severity ?? grade(drops, t.warningCount, t.criticalCount),
    insight: `The kernel dropped ${drops} packets of ${who(f)} ${windowText(f)} with reason ${reason}.`,
    recommendation: {
      action: "investigate-network",
      rationale: `Reason ${reason}: ${meaning}.`,
    },
  };
}

function tcp(f: Finding, ctx: Context, name: "retransmits" | "resets"): Assessment {
  const t = name === "retransmits" ? ctx.thresholds.tcpRetransmits : ctx.thresholds.tcpResets;
  const n = quantity(f.kernelTruth, name) ?? 0;
  return {
    severity: f.severity ?? grade(n, t.warningCount, t.criticalCount),
    insight: `TCP ${name === "retransmits" ? "retransmitted" : "reset"} ${n} ${name === "retransmits" ? "segments" : "connections"} of ${who(f)} ${windowText(f)}.`,
    recommendation: {
      action: "investigate-network",
      rationale:
        name === "retransmits"
          ? "Retransmits mean segments are lost on the path: look at packet drops by reason in the same network namespace, and at congestion."
          : "Resets mean a peer refused or aborted connections: look for restarts, closed ports or timeouts on either side.",
    },
  };
}

export function assess(f: Finding, ctx: Context): Assessment {
  if (f.kernelTruth.attributes?.kernelEvidence === "none") return noEvidence(f);
  switch (f.signal) {
    case "cpu-throttling":
      return cpuThrottling(f, ctx);
    case "oom-kill":
      return oomKill(f, ctx);
    case "runqueue-delay":
      return runqueueDelay(f, ctx);
    case "memory-pressure":
      return memoryPressure(f, ctx);
    case "packet-drops":
      return packetDrops(f, ctx);
    case "tcp-retransmits":
      return tcp(f, ctx, "retransmits");
    case "tcp-resets":
      return tcp(f, ctx, "resets");
  }
}
