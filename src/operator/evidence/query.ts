// What the operator asks for when an alert arrives without numbers (ADR 0076):
// the kernel's evidence for one subject and signal over one window, and what
// it gets back — evidence with units and the window it covers, or a plain
// statement that none exists and where it looked.
import type { Evidence } from "../../shared/model/common.ts";
import type { Signal, Subject } from "../../shared/model/kernel-whisper.ts";

export { SIGNAL_NOUN } from "../engine/finding.ts";

export interface EvidenceQuery {
  signal: Signal;
  subject: Subject;
  /** Milliseconds since the epoch. */
  startMs: number;
  endMs: number;
  /** A packet-drop reason to keep to, when the alert named one. */
  reason?: string;
}

export interface EvidenceFound {
  found: true;
  kernelTruth: Evidence;
  metricsView?: Evidence;
}

export interface EvidenceNone {
  found: false;
  /** Where the operator looked, e.g. "observer /events replay of 1 observer (812 events)". */
  searched: string;
}

export type EvidenceResult = EvidenceFound | EvidenceNone;
