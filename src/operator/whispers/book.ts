// The whisper book: in-memory, level-based state of every (subject, signal).
// Findings only mark entries dirty; the writer turns dirty entries into at
// most a couple of API writes per flush, so a flood of events coalesces into a
// handful of writes. Pure: no I/O, the clock is passed in.
import type { Evidence } from "../../shared/model/common.ts";
import type {
  ActionRecord,
  Severity,
  Signal,
  Subject,
  WhisperPhase,
  WhisperSource,
} from "../../shared/model/kernel-whisper.ts";
import { findingKey, type Finding } from "../engine/finding.ts";
import { whisperName } from "./names.ts";

export interface Entry {
  key: string;
  namespace: string;
  name: string;
  subject: Subject;
  signal: Signal;
  source: WhisperSource;
  firstSeen: Date;
  lastSeen: Date;
  occurrences: number;
  kernelTruth: Evidence;
  metricsView?: Evidence;
  severity?: Severity;
  phase: WhisperPhase;
  /** Changed since the last successful write. */
  dirty: boolean;
  /** Merged with what the API server already had (after an operator restart). */
  adopted: boolean;
  /** Observation times of findings not yet written (for time-to-truth). */
  pending: number[];
  actions: ActionRecord[];
  /** Set when the entry turned Active or Resolved and no Event was sent yet. */
  announce?: "active" | "resolved";
  /** Episode of the last counted finding (see Finding.episode). */
  lastEpisode?: string;
}

export interface Book {
  entries: Map<string, Entry>;
  /** Namespace for whispers about non-pod subjects. */
  defaultNamespace: string;
  maxEntries: number;
}

export function newBook(defaultNamespace: string, maxEntries = 10_000): Book {
  return { entries: new Map(), defaultNamespace, maxEntries };
}

/** Folds one finding into the book; returns the entry it touched. */
export function record(book: Book, f: Finding): Entry {
  const key = findingKey(f);
  let e = book.entries.get(key);
  if (!e) {
    const namespace =
      f.subject.pod && f.subject.namespace ? f.subject.namespace : book.defaultNamespace;
    e = {
      key,
      namespace,
      name: whisperName(f.subject, f.signal),
      subject: f.subject,
      signal: f.signal,
      source: f.source,
      firstSeen: f.observedAt,
      lastSeen: f.observedAt,
      occurrences: 0,
      kernelTruth: f.kernelTruth,
      phase: "Active",
      dirty: true,
      adopted: false,
      pending: [],
      actions: [],
    };
    evict(book);
    book.entries.set(key, e);
  }
  if (f.resolved) {
    if (e.phase !== "Resolved") {
      e.phase = "Resolved";
      e.announce = "resolved";
      e.dirty = true;
    }
    return e;
  }
  if (e.phase === "Resolved") {
    // A new episode after resolution starts a fresh count.
    e.phase = "Active";
    e.firstSeen = f.observedAt;
    e.occurrences = 0;
    e.lastEpisode = undefined;
    e.announce = "active";
  } else if (e.occurrences === 0) {
    e.announce = "active";
  }
  const sameEpisode = f.episode !== undefined && f.episode === e.lastEpisode;
  if (!sameEpisode) e.occurrences += 1;
  e.lastEpisode = f.episode;
  if (f.observedAt >= e.lastSeen) {
    e.lastSeen = f.observedAt;
    e.kernelTruth = f.kernelTruth;
    e.metricsView = f.metricsView ?? e.metricsView;
    e.severity = f.severity ?? e.severity;
  }
  if (f.observedAt < e.firstSeen) e.firstSeen = f.observedAt;
  e.subject = { ...e.subject, ...f.subject };
  e.source = f.source;
  e.pending.push(f.observedAt.getTime());
  e.dirty = true;
  return e;
}

/** Resolves entries quiet for longer than `quietMs`; returns them. */
export function sweep(book: Book, now: Date, quietMs: number): Entry[] {
  const resolved: Entry[] = [];
  for (const e of book.entries.values()) {
    if (e.phase === "Active" && now.getTime() - e.lastSeen.getTime() > quietMs) {
      e.phase = "Resolved";
      e.announce = "resolved";
      e.dirty = true;
      resolved.push(e);
    }
  }
  return resolved;
}

export const dirtyEntries = (book: Book) => [...book.entries.values()].filter((e) => e.dirty);

/** Keeps the book bounded: forgets clean resolved entries first, then the oldest clean ones. */
function evict(book: Book): void {
  if (book.entries.size < book.maxEntries) return;
  const clean = [...book.entries.values()].filter((e) => !e.dirty);
  clean.sort((a, b) => {
    if (a.phase !== b.phase) return a.phase === "Resolved" ? -1 : 1;
    return a.lastSeen.getTime() - b.lastSeen.getTime();
  });
  for (const e of clean.slice(0, Math.max(1, book.entries.size - book.maxEntries + 1))) {
    book.entries.delete(e.key);
  }
}
