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
}

/** Identity of a whisper: one per (subject, signal). */
export function findingKey(f: Pick<Finding, "subject" | "signal">): string {
  const s = f.subject;
  const who = s.pod
    ? `pod/${s.namespace ?? ""}/${s.pod}/${s.container ?? ""}`
    : `cgroup/${s.node ?? ""}/${s.cgroupPath ?? ""}`;
  return `${f.signal}|${who}`;
}

/** Looks up a quantity's value by name. */
export function quantity(e: Evidence | undefined, name: string): number | undefined {
  return e?.quantities.find((q) => q.name === name)?.value;
}
