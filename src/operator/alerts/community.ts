// The community alerts the operator accepts as they are (ADR 0076): rules users
// already route to Alertmanager, which carry a subject but no kernel numbers.
// For each the operator fetches the kernel evidence itself (../evidence/).
// Rule names, expressions and label names are facts read from the upstream
// rule files (commits below); the table records what the operator takes from
// each alert. src/operator/README.md ("Accepted alert contracts") lists them.
//
// kubernetes-monitoring/kubernetes-mixin @464d0ae5 (alerts/resource_alerts.libsonnet,
// alerts/apps_alerts.libsonnet):
//   CPUThrottlingHigh: increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m])
//     / increase(container_cpu_cfs_periods_total[5m]) > 25/100, summed `without (id,
//     metrics_path, name, image, endpoint, job, node)` — so the alert keeps namespace, pod,
//     container, instance (and cluster), not node; for 15m; severity info.
//   KubePodCrashLooping: max_over_time(kube_pod_container_status_waiting_reason
//     {reason="CrashLoopBackOff", job="kube-state-metrics"}[5m]) >= 1 — labels namespace,
//     pod, container, uid, reason; for 15m; severity warning.
// samber/awesome-prometheus-alerts @ed151501 (dist/rules/kubernetes/kubestate-exporter.yml,
// dist/rules/host-and-hardware/node-exporter.yml):
//   KubernetesContainerOomKiller: (kube_pod_container_status_restarts_total -
//     kube_pod_container_status_restarts_total offset 10m >= 1) and ignoring (reason)
//     min_over_time(kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}[10m])
//     == 1 — labels namespace, pod, container, uid; severity warning.
//   HostMemoryUnderMemoryPressure: deriv(node_vmstat_pgmajfault[5m]) > 1000 — labels
//     instance, job; severity warning.
// prometheus/node_exporter @a7ab16bb (docs/node-mixin/alerts/alerts.libsonnet):
//   NodeMemoryMajorPagesFaults: rate(node_vmstat_pgmajfault{job="node"}[5m]) > 500 —
//     labels instance, job; for 15m; severity warning.
//   NodeMemoryHighUtilization: 100 - (node_memory_MemAvailable_bytes /
//     node_memory_MemTotal_bytes * 100) > 90 — labels instance, job; for 15m.
import type { Signal } from "../../shared/model/kernel-whisper.ts";

export interface CommunityContract {
  signal: Signal;
  /**
   * pod: namespace/pod/container labels name the subject. node: the node
   * exporter's `instance` (or `node`) names a node; its namespace/pod labels
   * describe the exporter's own pod and are not the subject.
   */
  subject: "pod" | "node";
  /** The rule's range selector: how far back before startsAt the condition looked. */
  rangeMs: number;
  /** Where the rule comes from, for the whisper's origin. */
  upstream: string;
  /** What it means when the kernel recorded nothing for the subject and window. */
  whenNone: string;
}

const M5 = 5 * 60_000;
const MIXIN = "kubernetes-mixin";
const APA = "awesome-prometheus-alerts";
const NODE_MIXIN = "node-mixin";

const memoryPressure = (upstream: string): CommunityContract => ({
  signal: "memory-pressure",
  subject: "node",
  rangeMs: M5,
  upstream,
  whenNone:
    "The kernel recorded no memory stall on this node in the window: the page-fault or usage rate the rule saw did not make tasks wait for memory.",
});

export const COMMUNITY_ALERTS: Record<string, CommunityContract> = {
  CPUThrottlingHigh: {
    signal: "cpu-throttling",
    subject: "pod",
    rangeMs: M5,
    upstream: MIXIN,
    whenNone:
      "The kernel recorded no CFS throttling of this container in the window: the rule's ratio came from cAdvisor samples the kernel's own record does not confirm.",
  },
  KubePodCrashLooping: {
    signal: "oom-kill",
    subject: "pod",
    rangeMs: M5,
    upstream: MIXIN,
    whenNone:
      "The container is crash looping, but the kernel killed none of its processes for memory in the window: look at its exit code and logs instead.",
  },
  KubernetesContainerOomKiller: {
    signal: "oom-kill",
    subject: "pod",
    rangeMs: 10 * 60_000,
    upstream: APA,
    whenNone:
      "kube-state-metrics reported OOMKilled, but the kernel recorded no OOM kill for this container in the window (the kill may be older than the observer's record).",
  },
  HostMemoryUnderMemoryPressure: memoryPressure(APA),
  NodeMemoryMajorPagesFaults: memoryPressure(NODE_MIXIN),
  NodeMemoryHighUtilization: memoryPressure(NODE_MIXIN),
};

/** A node exporter's `instance` ("node-a:9100", "[::1]:9100", "node-a") without its port. */
export function nodeFromInstance(instance: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(instance);
  if (bracketed?.[1]) return bracketed[1];
  const colons = instance.split(":").length - 1;
  return colons === 1 ? instance.slice(0, instance.indexOf(":")) : instance;
}
