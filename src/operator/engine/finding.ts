// A Finding is one piece of kernel evidence about one subject and signal, from
// any input (observer event, Grafana alert, Alertmanager alert). Findings for
// the same (subject, signal) coalesce into one KernelWhisper.
import type { Evidence } from "../../shared/model/common.ts";
import type {
  Severity,
  Signal,
  Subject,
  WhisperSource,
} from "../../shared/model/kernel-whisper.ts";

export interface Finding {
  subject: Subject;
  signal: Signal;
  source: WhisperSource;
  /** When the evidence was observed (the kernel event's or alert's time). */
  observedAt: Date;
  kernelTruth: Evidence;
  metricsView?: Evidence;
  /** Severity stated by the alert rule, if any; otherwise the engine decides. */
  severity?: Severity;
  /** An alert that says the condition has ended. */
  resolved?: boolean;
  /**
   * Identity of the kernel episode this finding reports on (its start time).
   * Progress reports of one episode update the evidence but count once.
   */
  episode?: string;
  /**
   * The kind within a signal that changes what to do — a packet drop's kernel
   * reason. Part of the whisper's identity: drops with different reasons are
   * different whispers (ADR 0075).
   */
  reason?: string;
}

/** Identity of a whisper: one per (subject, signal[, reason]). */
export function findingKey(f: Pick<Finding, "subject" | "signal" | "reason">): string {
  const s = f.subject;
  const who = s.pod
    ? `pod/${s.namespace ?? ""}/${s.pod}/${s.container ?? ""}`
    : `cgroup/${s.node ?? ""}/${s.cgroupPath ?? ""}`;
  return `${f.signal}|${who}${f.reason !== undefined ? `|${f.reason}` : ""}`;
}

/** Looks up a quantity's value by name. */
export function quantity(e: Evidence | undefined, name: string): number | undefined {
  return e?.quantities.find((q) => q.name === name)?.value;
}

/** What the kernel records per signal, for sentences like "no OOM kill recorded". */
export const SIGNAL_NOUN: Record<Signal, string> = {
  "cpu-throttling": "CFS throttling",
  "runqueue-delay": "run-queue delay",
  "oom-kill": "OOM kill",
  "memory-pressure": "memory stall",
  "packet-drops": "packet drop",
  "tcp-retransmits": "TCP retransmit",
  "tcp-resets": "TCP reset",
};
