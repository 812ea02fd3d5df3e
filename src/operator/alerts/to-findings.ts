// Alert → Finding. The label contract (documented in src/operator/README.md,
// "Alert labels"; the Grafana alert rules carry exactly these):
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
import type { Alert } from "./schema.ts";

export const DEFAULT_QUANTITY: Record<Signal, { name: string; unit: Unit }> = {
  "cpu-throttling": { name: "throttledPeriodsRatio", unit: "ratio" },
  "runqueue-delay": { name: "runqueueDelayP99Seconds", unit: "seconds" },
  "oom-kill": { name: "oomKills", unit: "count" },
  "memory-pressure": { name: "stallSeconds", unit: "seconds" },
  "packet-drops": { name: "drops", unit: "packets" },
  "tcp-retransmits": { name: "retransmits", unit: "count" },
  "tcp-resets": { name: "resets", unit: "count" },
};

export type Mapped = { finding: Finding } | { ignored: string };

const isSignal = (s: string | undefined): s is Signal => SIGNALS.includes(s as Signal);
const isSeverity = (s: string | undefined): s is Severity => SEVERITIES.includes(s as Severity);
const isUnit = (s: string | undefined): s is Unit => UNITS.includes(s as Unit);
const NAME = /^[a-z][A-Za-z0-9]{0,62}$/;

/** Parses a Prometheus duration ("90s", "5m", "1h30m") to milliseconds. */
export function parseDuration(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const re = /(\d+)(ms|s|m|h|d)/g;
  const unit: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * (unit[m[2] ?? ""] ?? 0);
    consumed += m[0].length;
  }
  return consumed === text.length && total > 0 ? total : undefined;
}

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

export function alertToFinding(alert: Alert, source: WhisperSource, receivedAt: Date): Mapped {
  const l = alert.labels;
  const signal = l.kernel_gossip_signal ?? l.signal;
  if (signal === undefined) return { ignored: "no-signal-label" };
  if (!isSignal(signal)) return { ignored: "unknown-signal" };
  const subject: Subject = {
    ...(l.namespace ? { namespace: l.namespace } : {}),
    ...(l.pod ? { pod: l.pod } : {}),
    ...(l.container ? { container: l.container } : {}),
    ...(l.node ? { node: l.node } : {}),
    ...(l.cgroup ? { cgroupPath: l.cgroup } : {}),
  };
  if (!subject.pod && !subject.cgroupPath) return { ignored: "no-subject-labels" };
  if (subject.pod && !subject.namespace) return { ignored: "pod-without-namespace" };
  const resolved = alert.status === "resolved";
  const value = alertValue(alert);
  if (value === undefined && !resolved) return { ignored: "no-value" };

  const a = alert.annotations ?? {};
  const def = DEFAULT_QUANTITY[signal];
  const name =
    a.kernel_gossip_quantity && NAME.test(a.kernel_gossip_quantity)
      ? a.kernel_gossip_quantity
      : def.name;
  const unit = isUnit(a.kernel_gossip_unit) ? a.kernel_gossip_unit : def.unit;
  const windowMs = parseDuration(a.kernel_gossip_window) ?? 5 * 60_000;
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
  const origin =
    `${source} alert ${l.alertname ?? ""}${alert.generatorURL ? ` ${alert.generatorURL}` : ""}`.slice(
      0,
      512,
    );

  const mq = a.kernel_gossip_metrics_quantity;
  const mv = Number(a.kernel_gossip_metrics_value);
  const mu = isUnit(a.kernel_gossip_metrics_unit) ? a.kernel_gossip_metrics_unit : "percent";
  const metricsView =
    mq && NAME.test(mq) && a.kernel_gossip_metrics_value !== undefined && Number.isFinite(mv)
      ? { window, quantities: [{ name: mq, value: fitUnit(mv, mu), unit: mu }], origin }
      : undefined;

  return {
    finding: {
      subject,
      signal,
      source,
      observedAt: end,
      kernelTruth: {
        window,
        // A resolved alert without a value keeps a zero marker so the evidence stays well-formed.
        quantities: quantities.length ? quantities : [{ name, value: 0, unit }],
        attributes: {
          alertname: (l.alertname ?? "").slice(0, 256),
          ...(alert.fingerprint ? { fingerprint: alert.fingerprint } : {}),
        },
        origin,
      },
      ...(metricsView ? { metricsView } : {}),
      ...(isSeverity(l.severity) ? { severity: l.severity } : {}),
      ...(resolved ? { resolved: true } : {}),
    },
  };
}
