// Pure builders: the KernelWhisper spec and status, and the Kubernetes Events
// that point a pod's owners at a whisper.
import type * as k8s from "@kubernetes/client-node";
import type { Condition } from "../../shared/model/common.ts";
import type {
  KernelWhisperSpec,
  KernelWhisperStatus,
  Severity,
} from "../../shared/model/kernel-whisper.ts";
import type { Finding } from "../engine/finding.ts";
import type { PodInfo } from "../engine/pod-info.ts";
import type { Assessment } from "../engine/rules.ts";
import type { Entry } from "./book.ts";

export const COMPONENT = "kernel-gossip-operator";
/** Which operator process created a whisper (see the writer's adopt()). */
export const INCARNATION_ANNOTATION = "kernel.gossip.io/created-by-incarnation";

export function findingOf(e: Entry): Finding {
  return {
    subject: e.subject,
    signal: e.signal,
    source: e.source,
    observedAt: e.lastSeen,
    kernelTruth: e.kernelTruth,
    metricsView: e.metricsView,
    severity: e.severity,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
  };
}

export function buildSpec(e: Entry, severity: Severity): KernelWhisperSpec {
  return {
    subject: e.subject,
    signal: e.signal,
    severity,
    kernelTruth: e.kernelTruth,
    ...(e.metricsView ? { metricsView: e.metricsView } : {}),
    source: e.source,
    firstSeen: e.firstSeen.toISOString(),
    lastSeen: e.lastSeen.toISOString(),
    occurrences: Math.max(1, e.occurrences),
  };
}

/** A label value: at most 63 characters, alphanumeric at both ends. */
const labelValue = (s: string) => s.slice(0, 63).replace(/[^A-Za-z0-9]+$/, "");

export const labelsFor = (e: Entry): Record<string, string> => ({
  "app.kubernetes.io/managed-by": COMPONENT,
  "kernel.gossip.io/signal": e.signal,
  ...(e.subject.pod ? { "kernel.gossip.io/pod": labelValue(e.subject.pod) } : {}),
  ...(e.relocatedFrom ? { "kernel.gossip.io/subject-namespace": e.relocatedFrom } : {}),
});

export function buildStatus(
  e: Entry,
  a: Assessment,
  generation: number | undefined,
  previous: Condition[] | undefined,
  now: Date,
): KernelWhisperStatus {
  const active = e.phase === "Active";
  const old = previous?.find((c) => c.type === "Active");
  const status = active ? "True" : "False";
  const condition: Condition = {
    type: "Active",
    status,
    reason: active ? "KernelEvidence" : "QuietPeriodElapsed",
    message: active ? a.insight : `No new evidence since ${e.lastSeen.toISOString()}.`,
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  const conditions = [condition];
  if (e.relocatedFrom) {
    const old = previous?.find((c) => c.type === "SubjectNamespaceFound");
    conditions.push({
      type: "SubjectNamespaceFound",
      status: "False",
      reason: "NamespaceNotFound",
      message: `Namespace ${e.relocatedFrom} did not exist when this whisper was written, so it is kept in ${e.namespace}; spec.subject is as reported.`,
      lastTransitionTime: old?.lastTransitionTime ?? now.toISOString(),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    });
  }
  return {
    phase: e.phase,
    insight: a.insight,
    recommendation: a.recommendation,
    actions: e.actions.slice(-64),
    conditions,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

export type Announcement = "active" | "resolved" | "action";

/** An Event on the affected Pod (or on the whisper for non-pod subjects). */
export function buildEvent(
  e: Entry,
  kind: Announcement,
  message: string,
  pod: PodInfo | undefined,
  now: Date,
): k8s.CoreV1Event {
  const whisperRef = {
    apiVersion: "kernel.gossip.io/v1alpha1",
    kind: "KernelWhisper",
    namespace: e.namespace,
    name: e.name,
  };
  const involved = pod
    ? { apiVersion: "v1", kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid }
    : whisperRef;
  const reason =
    kind === "active"
      ? "KernelWhisper"
      : kind === "resolved"
        ? "KernelWhisperResolved"
        : "KernelWhisperAction";
  const event: k8s.CoreV1Event = {
    metadata: { generateName: `${involved.name.slice(0, 200)}.`, namespace: involved.namespace },
    involvedObject: involved,
    related: pod ? whisperRef : undefined,
    reason,
    message: `${message} (kubectl get kw ${e.name} -n ${e.namespace})`,
    type: kind === "resolved" ? "Normal" : "Warning",
    source: { component: COMPONENT },
    reportingComponent: COMPONENT,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    action: kind,
  };
  return event;
}
