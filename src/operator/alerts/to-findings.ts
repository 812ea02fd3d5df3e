// Alert → Finding (ADR 0075, 0076). Two contracts, both in src/operator/README.md:
// the community rules of ./community.ts, matched by alertname, whose evidence
// the operator fetches; and our own label contract (the shipped rules carry it):
//   kernel_gossip_signal (or signal)   one of the KernelWhisper signals — required
//   namespace, pod, container, node    the subject (pod, or cgroup via `cgroup`) — required
//   severity                           info | warning | critical — optional
// Annotations carry the evidence: kernel_gossip_value (else Grafana's values),
// kernel_gossip_quantity / kernel_gossip_unit (defaults per signal),
// kernel_gossip_window (a Prometheus duration, default 5m) and optionally
// kernel_gossip_metrics_quantity / kernel_gossip_metrics_value / kernel_gossip_metrics_unit.
import type { Quantity, Unit } from "../../shared/model/common.ts";
import { UNITS } from "../../shared/model/common.ts";
import {
  SEVERITIES,
  SIGNALS,
  type Severity,
  type Signal,
  type Subject,
  type WhisperSource,
} from "../../shared/model/kernel-whisper.ts";
import type { Finding } from "../engine/finding.ts";
import { SIGNAL_NOUN, type EvidenceQuery } from "../evidence/query.ts";
import { COMMUNITY_ALERTS, nodeFromInstance, type CommunityContract } from "./community.ts";
import type { Alert } from "./schema.ts";
import { invalidLabel } from "./validate.ts";
import { parseDuration } from "../../shared/config/env.ts";

export const DEFAULT_QUANTITY: Record<Signal, { name: string; unit: Unit }> = {
  "cpu-throttling": { name: "throttledPeriodsRatio", unit: "ratio" },
  "runqueue-delay": { name: "runqueueDelayP99Seconds", unit: "seconds" },
  "oom-kill": { name: "oomKills", unit: "count" },
  "memory-pressure": { name: "stallSeconds", unit: "seconds" },
  "packet-drops": { name: "drops", unit: "packets" },
  "tcp-retransmits": { name: "retransmits", unit: "count" },
  "tcp-resets": { name: "resets", unit: "count" },
};

/**
 * An alert becomes a finding; one without numbers also names the evidence the
 * operator must fetch (`lookup`, with what to say when there is none); a label
 * that cannot be used is `invalid` (a 400 naming it); alerts outside every
 * contract are `ignored` with a reason.
 */
export type Mapped =
  | { finding: Finding; lookup?: undefined }
  | { finding: Finding; lookup: EvidenceQuery; whenNone: string }
  | { ignored: string }
  | { invalid: string };

const isSignal = (s: string | undefined): s is Signal => SIGNALS.includes(s as Signal);
const isSeverity = (s: string | undefined): s is Severity => SEVERITIES.includes(s as Severity);
const isUnit = (s: string | undefined): s is Unit => UNITS.includes(s as Unit);
const NAME = /^[a-z][A-Za-z0-9]{0,62}$/;
/** Evidence is never looked up further back than this, however long an alert has fired. */
const MAX_LOOKUP_MS = 60 * 60_000;

/** Parses a Prometheus duration ("90s", "5m", "1h30m") to milliseconds. */
/** Prometheus/Go-style durations ("5m", "1h30m"): the shared reader's one parser. */
export { parseDuration };

function alertValue(alert: Alert): number | undefined {
  const annotated = alert.annotations?.kernel_gossip_value;
  if (annotated !== undefined && annotated.trim() !== "" && Number.isFinite(Number(annotated))) {
    return Number(annotated);
  }
  const values = alert.values ?? {};
  const ref = alert.annotations?.kernel_gossip_value_ref;
  const pick =
    ref !== undefined ? values[ref] : Object.values(values).find((v) => typeof v === "number");
  return typeof pick === "number" && Number.isFinite(pick) ? pick : undefined;
}

function fitUnit(value: number, unit: Unit): number {
  // The CRD rejects ratios outside [0, 1] and negative counts; alert math can overshoot.
  if (unit === "ratio") return Math.min(1, Math.max(0, value));
  return unit === "percent" ? value : Math.max(0, value);
}

/** Which contract an alert follows: ours (a signal label) or a known community rule. */
function contractOf(l: Record<string, string>): { signal: string; community?: CommunityContract } {
  const own = l.kernel_gossip_signal ?? l.signal;
  if (own !== undefined) return { signal: own };
  const named = l.alertname !== undefined ? COMMUNITY_ALERTS[l.alertname] : undefined;
  if (named) return { signal: named.signal, community: named };
  // kube-state-metrics' terminated/last-terminated reason series, whatever the rule is called.
  if (l.reason === "OOMKilled" && l.pod !== undefined) {
    const generic = COMMUNITY_ALERTS.KubernetesContainerOomKiller;
    if (generic)
      return { signal: generic.signal, community: { ...generic, upstream: "kube-state-metrics" } };
  }
  return { signal: "" };
}

/** The labels that name the subject, as the contract reads them. */
type SubjectLabels = Partial<Record<"namespace" | "pod" | "container" | "node" | "cgroup", string>>;

function subjectLabels(l: Record<string, string>, c: CommunityContract | undefined): SubjectLabels {
  if (c?.subject === "node") {
    const node = l.node ?? (l.instance !== undefined ? nodeFromInstance(l.instance) : undefined);
    return { ...(node !== undefined ? { node } : {}), cgroup: "/" };
  }
  const pick = (k: string) => (l[k] !== undefined ? { [k]: l[k] } : {});
  return {
    ...pick("namespace"),
    ...pick("pod"),
    ...pick("container"),
    ...pick("node"),
    ...(c ? {} : pick("cgroup")),
  };
}

export function alertToFinding(alert: Alert, source: WhisperSource, receivedAt: Date): Mapped {
  const l = alert.labels;
  const { signal, community } = contractOf(l);
  if (signal === "") return { ignored: "no-signal-label" };
  if (!isSignal(signal)) return { ignored: "unknown-signal" };
  const s = subjectLabels(l, community);
  const bad = invalidLabel({
    ...s,
    ...(l.alertname !== undefined ? { alertname: l.alertname } : {}),
    ...(l.reason !== undefined ? { reason: l.reason } : {}),
  });
  if (bad) return { invalid: bad };
  const subject: Subject = {
    ...(s.namespace ? { namespace: s.namespace } : {}),
    ...(s.pod ? { pod: s.pod } : {}),
    ...(s.container ? { container: s.container } : {}),
    ...(s.node ? { node: s.node } : {}),
    ...(s.cgroup ? { cgroupPath: s.cgroup } : {}),
  };
  if (!subject.pod && !subject.cgroupPath) return { ignored: "no-subject-labels" };
  if (subject.pod && !subject.namespace) return { ignored: "pod-without-namespace" };
  if (community?.subject === "node" && !subject.node) return { ignored: "no-node-label" };
  const resolved = alert.status === "resolved";
  const value = community ? undefined : alertValue(alert);

  const a = alert.annotations ?? {};
  const def = DEFAULT_QUANTITY[signal];
  const name =
    a.kernel_gossip_quantity && NAME.test(a.kernel_gossip_quantity)
      ? a.kernel_gossip_quantity
      : def.name;
  const unit = isUnit(a.kernel_gossip_unit) ? a.kernel_gossip_unit : def.unit;
  const windowMs = community?.rangeMs ?? parseDuration(a.kernel_gossip_window) ?? 5 * 60_000;
  const end =
    resolved && alert.endsAt && !alert.endsAt.startsWith("0001")
      ? new Date(alert.endsAt)
      : receivedAt;
  const window = {
    start: new Date(end.getTime() - windowMs).toISOString(),
    end: end.toISOString(),
  };
  const quantities: Quantity[] =
    value !== undefined ? [{ name, value: fitUnit(value, unit), unit }] : [];
  const rule = community ? ` (${community.upstream})` : "";
  const origin =
    `${source} alert ${l.alertname ?? ""}${rule}${alert.generatorURL ? ` ${alert.generatorURL}` : ""}`.slice(
      0,
      512,
    );

  const mq = a.kernel_gossip_metrics_quantity;
  const mv = Number(a.kernel_gossip_metrics_value);
  const mu = isUnit(a.kernel_gossip_metrics_unit) ? a.kernel_gossip_metrics_unit : "percent";
  const metricsView =
    !community &&
    mq &&
    NAME.test(mq) &&
    a.kernel_gossip_metrics_value !== undefined &&
    Number.isFinite(mv)
      ? { window, quantities: [{ name: mq, value: fitUnit(mv, mu), unit: mu }], origin }
      : undefined;
  const dropReason = signal === "packet-drops" ? l.reason : undefined;

  const finding: Finding = {
    subject,
    signal,
    source,
    observedAt: end,
    kernelTruth: {
      window,
      // A resolved alert without a value keeps a zero marker so the evidence stays well-formed.
      quantities: quantities.length ? quantities : [{ name, value: 0, unit }],
      attributes: {
        alertname: l.alertname ?? "",
        ...(alert.fingerprint ? { fingerprint: alert.fingerprint.slice(0, 256) } : {}),
        ...(dropReason !== undefined ? { reason: dropReason } : {}),
        ...(l.reason !== undefined && dropReason === undefined ? { alertReason: l.reason } : {}),
      },
      origin,
    },
    ...(metricsView ? { metricsView } : {}),
    // A community rule's severity is its authors' default, not the kernel's: the engine grades.
    ...(!community && isSeverity(l.severity) ? { severity: l.severity } : {}),
    ...(resolved ? { resolved: true } : {}),
    ...(dropReason !== undefined ? { reason: dropReason } : {}),
  };
  if (resolved || value !== undefined) return { finding };

  // No numbers in the alert: the operator looks the kernel's record up itself.
  const since = alert.startsAt ? Date.parse(alert.startsAt) : NaN;
  const from = Number.isFinite(since)
    ? Math.min(since, end.getTime()) - windowMs
    : end.getTime() - windowMs;
  const startMs = Math.max(from, end.getTime() - MAX_LOOKUP_MS);
  return {
    finding,
    lookup: {
      signal,
      subject,
      startMs,
      endMs: end.getTime(),
      ...(dropReason !== undefined ? { reason: dropReason } : {}),
    },
    whenNone:
      community?.whenNone ??
      `The alert fired, but the kernel recorded no ${SIGNAL_NOUN[signal]} for this subject in the window.`,
  };
}
