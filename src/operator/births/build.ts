// Pure builder: one observer `birth` event → one PodBirthCertificate (name,
// labels, spec, status). Everything the API would refuse is fixed here — lists
// cut at the CRD's maxItems, strings at their maxLength, actions made
// DNS-label-like — and every cut sets spec.truncated, so a certificate says
// when it shows less than the kernel saw.
import { createHash } from "node:crypto";
import type * as k8s from "@kubernetes/client-node";
import { API_VERSION } from "../../shared/model/meta.ts";
import type { Condition } from "../../shared/model/common.ts";
import type { BirthEvent, BirthStep, Workload } from "../../shared/model/observer-events.ts";
import {
  NAMESPACE_TYPES,
  type CgroupFileWrite,
  type KernelStats,
  type PodBirthCertificateSpec,
  type PodBirthCertificateStatus,
  type TimelineEntry,
} from "../../shared/model/pod-birth-certificate.ts";

/** The CRD's bounds (src/shared/model/pod-birth-certificate.ts). */
export const LIMITS = {
  timeline: 512,
  cgroupsCreated: 256,
  cgroupFilesWritten: 512,
  detail: 1024,
  path: 4096,
  hierarchy: 128,
  value: 1024,
  action: 63,
  comm: 16,
  podUID: 64,
  node: 253,
} as const;

export const COMPONENT = "kernel-gossip-operator";
export const ORPHAN_LABEL = "kernel.gossip.io/orphan";

/** The envelope fields a certificate needs, with the pod already named. */
export interface BirthInput {
  node: string;
  /** Envelope time, used when the window's own start is not RFC 3339. */
  ts: string;
  namespace: string;
  pod: string;
  podUID?: string;
  evidence: BirthEvent;
}

export interface BuiltCertificate {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  spec: PodBirthCertificateSpec;
}

/** namespace/pod of a workload, when the observer named it (bare containers have none). */
export function namedPod(w: Workload): { namespace: string; pod: string } | undefined {
  return w.namespace && w.pod ? { namespace: w.namespace, pod: w.pod } : undefined;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function timestamp(primary: string, fallback: string): string {
  for (const t of [primary, fallback]) {
    if (RFC3339.test(t) && !Number.isNaN(Date.parse(t))) return t;
  }
  const parsed = Date.parse(primary);
  return new Date(Number.isNaN(parsed) ? Date.parse(fallback) || 0 : parsed).toISOString();
}

/**
 * Deterministic name: the pod name for people, plus a hash of the pod's
 * identity and the window's start so a re-delivered event (same window) lands
 * on the same object while a later window of the same pod gets its own.
 */
export function certificateName(
  namespace: string,
  pod: string,
  podUID: string | undefined,
  start: string,
): string {
  const hash = createHash("sha256")
    .update(JSON.stringify([namespace, pod, podUID ?? "", start]))
    .digest("hex")
    .slice(0, 10);
  const base = pod
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .slice(0, 200)
    .replace(/^-+|-+$/g, "");
  return base ? `${base}-${hash}` : `birth-${hash}`;
}

/** A label value (≤ 63, alphanumeric at both ends) or nothing. */
const labelValue = (s: string | undefined) => {
  const v = (s ?? "")
    .slice(0, 63)
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return v || undefined;
};

interface Cut {
  truncated: boolean;
}

function clip(s: string, max: number, cut: Cut): string {
  if (s.length <= max) return s;
  cut.truncated = true;
  return s.slice(0, max);
}

function action(s: string): string {
  const a = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, LIMITS.action)
    .replace(/-+$/, "");
  return a || "event";
}

// When the timeline must be cut, the steps that make the certificate's point
// survive first — what the kernel was told to build (cgroups, control files,
// namespaces) and what ran inside the container — then the rest in time order.
const KEY_ACTIONS = new Set(["cgroup-created", "cgroup-file-written", "namespace-created"]);
const rank = (s: BirthStep) => (s.actor === "container" || KEY_ACTIONS.has(s.action) ? 0 : 1);

function timeline(steps: BirthStep[], cut: Cut, max: number = LIMITS.timeline): TimelineEntry[] {
  const indexed = steps.map((s, i) => ({ s, i }));
  const byTime = (a: (typeof indexed)[0], b: (typeof indexed)[0]) =>
    a.s.offsetMicroseconds - b.s.offsetMicroseconds || a.i - b.i;
  let kept = indexed;
  if (indexed.length > max) {
    cut.truncated = true;
    kept = [...indexed].sort((a, b) => rank(a.s) - rank(b.s) || byTime(a, b)).slice(0, max);
  }
  return kept.sort(byTime).map(({ s }) => ({
    offsetMicroseconds: s.offsetMicroseconds,
    actor: s.actor,
    action: action(s.action),
    detail: clip(s.detail, LIMITS.detail, cut),
    ...(s.pid !== undefined && s.pid <= 0x7fffffff ? { pid: s.pid } : {}),
    ...(s.comm ? { comm: s.comm.slice(0, LIMITS.comm) } : {}),
  }));
}

function limited<T>(items: T[], max: number, cut: Cut): T[] {
  if (items.length > max) cut.truncated = true;
  return items.slice(0, max);
}

function kernelStats(e: BirthEvent, cut: Cut): KernelStats {
  const namespacesCreated: KernelStats["namespacesCreated"] = {};
  // Known types only: the CRD would prune anything else anyway.
  for (const type of NAMESPACE_TYPES) {
    const n = e.namespacesCreated[type];
    if (n !== undefined) namespacesCreated[type] = n;
  }
  return {
    syscalls: e.syscalls,
    namespacesCreated,
    cgroupsCreated: limited(e.cgroupsCreated, LIMITS.cgroupsCreated, cut).map((c) => ({
      hierarchy: clip(c.hierarchy, LIMITS.hierarchy, cut) || "unknown",
      path: clip(c.path, LIMITS.path, cut) || "/",
    })),
    cgroupFilesWritten: limited(e.cgroupFilesWritten, LIMITS.cgroupFilesWritten, cut).map(
      (w): CgroupFileWrite => ({
        path: clip(w.path, LIMITS.path, cut) || "/",
        value: clip(w.value, LIMITS.value, cut),
      }),
    ),
    forks: e.forks,
    execs: e.execs,
    ...(e.skippedKernelEvents ? { skippedKernelEvents: e.skippedKernelEvents } : {}),
    totalDurationSeconds: e.durationSeconds,
  };
}

/** Serialized spec size kept well below etcd's 1.5 MiB object limit. */
export const SIZE_BUDGET = 1_000_000;

// Item bounds alone allow ~4 MB of maximal strings: halve the heaviest part
// (the timeline keeps its key steps) until the spec fits.
function fitSize(spec: PodBirthCertificateSpec, steps: BirthStep[], cut: Cut) {
  const size = (v: unknown) => JSON.stringify(v).length;
  const k = spec.kernelStats;
  while (size(spec) > SIZE_BUDGET) {
    cut.truncated = true;
    const parts = [size(spec.timeline), size(k.cgroupFilesWritten), size(k.cgroupsCreated)];
    const heaviest = parts.indexOf(Math.max(...parts));
    if (heaviest === 0) {
      spec.timeline = timeline(steps, cut, Math.floor(spec.timeline.length / 2));
    } else if (heaviest === 1) {
      k.cgroupFilesWritten = k.cgroupFilesWritten.slice(0, k.cgroupFilesWritten.length >> 1);
    } else {
      k.cgroupsCreated = k.cgroupsCreated.slice(0, k.cgroupsCreated.length >> 1);
    }
  }
}

export function buildCertificate(input: BirthInput): BuiltCertificate {
  const e = input.evidence;
  const cut: Cut = { truncated: e.truncated };
  const startTime = timestamp(e.start, input.ts);
  const podUID = input.podUID ? input.podUID.slice(0, LIMITS.podUID) : undefined;
  const spec: PodBirthCertificateSpec = {
    subject: {
      namespace: input.namespace,
      pod: input.pod,
      ...(podUID ? { podUID } : {}),
      ...(input.node ? { node: input.node.slice(0, LIMITS.node) } : {}),
    },
    startTime,
    timeline: timeline(e.timeline, cut),
    kernelStats: kernelStats(e, cut),
    truncated: false,
  };
  fitSize(spec, e.timeline, cut);
  spec.truncated = cut.truncated;
  const labels: Record<string, string> = { "app.kubernetes.io/managed-by": COMPONENT };
  const pod = labelValue(input.pod);
  const uid = labelValue(podUID);
  if (pod) labels["kernel.gossip.io/pod"] = pod;
  if (uid) labels["kernel.gossip.io/pod-uid"] = uid;
  return {
    name: certificateName(input.namespace, input.pod, podUID, e.start),
    namespace: input.namespace,
    labels,
    spec,
  };
}

const CONDITION = "Complete";

function entrypointOf(e: BirthEvent): string | undefined {
  const app = e.containers.filter((c) => !c.sandbox && c.entrypoint);
  return (app.at(-1) ?? e.containers.find((c) => c.entrypoint))?.entrypoint;
}

/** The Complete condition: whether the capture saw the entrypoint's exec, and why it closed. */
function completeCondition(
  e: BirthEvent,
  generation: number | undefined,
  previous: Condition | undefined,
  now: Date,
): Condition {
  const ms = (e.durationSeconds * 1000).toFixed(1);
  const entrypoint = entrypointOf(e);
  const reason = e.complete
    ? "EntrypointExecuted"
    : e.closeReason === "shutdown"
      ? "ObserverShutdown"
      : "CaptureTimeout";
  const message = e.complete
    ? `entrypoint ${entrypoint ?? "(unnamed)"} exec'd ${ms} ms after the first kernel event`
    : `capture window closed (${e.closeReason}) after ${ms} ms without an entrypoint exec` +
      (e.skippedKernelEvents
        ? `; the kernel skipped ${e.skippedKernelEvents} events in the observer's birth programs meanwhile, so the exec may have happened unseen`
        : "");
  return {
    type: CONDITION,
    status: e.complete ? "True" : "False",
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime:
      previous && previous.status === (e.complete ? "True" : "False")
        ? previous.lastTransitionTime
        : now.toISOString(),
    reason,
    message: message.slice(0, 32768),
  };
}

/** Status for the stored generation; keeps lastTransitionTime while the condition holds. */
export function buildStatus(
  e: BirthEvent,
  generation: number | undefined,
  previous: Condition[] | undefined,
  now: Date,
): PodBirthCertificateStatus {
  const before = previous?.find((p) => p.type === CONDITION);
  const c = completeCondition(e, generation, before, now);
  return {
    phase: e.complete ? "Complete" : "Incomplete",
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: [c],
  };
}

/** The one-line summary for the Pod's Event; every number with its unit. */
export function summary(spec: PodBirthCertificateSpec, complete: boolean): string {
  const k = spec.kernelStats;
  const ns = NAMESPACE_TYPES.reduce((n, t) => n + (k.namespacesCreated[t] ?? 0), 0);
  const what = complete ? "kernel cascade of the pod start" : "incomplete capture of the pod start";
  return (
    `${what}: ${k.syscalls} syscalls, ${ns} namespaces, ${k.cgroupsCreated.length} cgroups, ` +
    `${k.cgroupFilesWritten.length} cgroup file writes, ${k.forks} forks, ${k.execs} execs ` +
    `in ${(k.totalDurationSeconds * 1000).toFixed(1)} ms`
  );
}

/** The "BirthCertified" Event on the Pod, pointing at its certificate. */
export function birthEvent(
  cert: BuiltCertificate,
  podUID: string,
  complete: boolean,
  now: Date,
): k8s.CoreV1Event {
  const { namespace, pod } = cert.spec.subject;
  return {
    metadata: { generateName: `${pod.slice(0, 200)}.`, namespace },
    involvedObject: { apiVersion: "v1", kind: "Pod", namespace, name: pod, uid: podUID },
    related: { apiVersion: API_VERSION, kind: "PodBirthCertificate", namespace, name: cert.name },
    reason: "BirthCertified",
    message: `${summary(cert.spec, complete)} (kubectl get pbc ${cert.name} -n ${namespace})`,
    type: "Normal",
    source: { component: COMPONENT },
    reportingComponent: COMPONENT,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    action: "Certify",
  };
}
