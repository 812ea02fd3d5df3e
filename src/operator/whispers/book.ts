// The whisper book: in-memory, level-based state of every (subject, signal).
// Findings only mark entries dirty; the writer turns dirty entries into at
// most a couple of API writes per flush, so a flood of events coalesces into a
// handful of writes (ADR 0005). Memory is bounded by the number of entries,
// never by the number of findings: per entry only the earliest unwritten
// observation time and a count are kept (ADR 0075). Pure: no I/O, the clock
// is passed in.
import type { Condition, Evidence } from "../../shared/model/common.ts";
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
  /** Part of the identity for signals that have kinds (a packet drop's reason). */
  reason?: string;
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
  /** The whisper exists in the API (known after adoption or the first write). */
  exists: boolean;
  /** Conditions last written (to keep their transition times). */
  conditions?: Condition[];
  /** Earliest observation time (ms) of the findings not yet written, for time-to-truth. */
  pendingSince?: number;
  /** How many findings are not yet written. */
  pendingCount: number;
  /** Failed write attempts in a row, and when the next one may start (ms). */
  attempts: number;
  retryAt: number;
  /**
   * The subject's namespace did not exist when the whisper was written, so it
   * lives in the operator's namespace instead (the subject is kept as sent).
   */
  relocatedFrom?: string;
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

/**
 * Whether the book can take these findings without forgetting unwritten
 * evidence: findings for known entries always fit; new ones need room (the
 * book's free slots plus clean entries it may forget).
 */
export function admits(book: Book, findings: Finding[]): boolean {
  const fresh = new Set(findings.map(findingKey).filter((k) => !book.entries.has(k)));
  if (fresh.size === 0) return true;
  let room = book.maxEntries - book.entries.size;
  if (room >= fresh.size) return true;
  for (const e of book.entries.values()) if (!e.dirty && ++room >= fresh.size) return true;
  return false;
}

/** Folds one finding into the book; returns the entry it touched, or undefined when full. */
export function record(book: Book, f: Finding, now = Date.now()): Entry | undefined {
  const key = findingKey(f);
  let e = book.entries.get(key);
  if (!e) {
    if (!evict(book)) return undefined;
    const namespace =
      f.subject.pod && f.subject.namespace ? f.subject.namespace : book.defaultNamespace;
    e = {
      key,
      namespace,
      name: whisperName(f.subject, f.signal, f.reason),
      subject: f.subject,
      signal: f.signal,
      ...(f.reason !== undefined ? { reason: f.reason } : {}),
      source: f.source,
      firstSeen: f.observedAt,
      lastSeen: f.observedAt,
      occurrences: 0,
      kernelTruth: f.kernelTruth,
      phase: "Active",
      dirty: true,
      adopted: false,
      exists: false,
      pendingCount: 0,
      attempts: 0,
      retryAt: 0,
      actions: [],
    };
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
  const t = Math.min(f.observedAt.getTime(), now);
  e.pendingSince = e.pendingSince === undefined ? t : Math.min(e.pendingSince, t);
  e.pendingCount += 1;
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

/**
 * Makes room for one more entry: forgets clean resolved entries first, then
 * the oldest clean ones. False when every entry still holds unwritten evidence.
 */
function evict(book: Book): boolean {
  if (book.entries.size < book.maxEntries) return true;
  const clean = [...book.entries.values()].filter((e) => !e.dirty);
  if (clean.length === 0) return false;
  clean.sort((a, b) => {
    if (a.phase !== b.phase) return a.phase === "Resolved" ? -1 : 1;
    return a.lastSeen.getTime() - b.lastSeen.getTime();
  });
  for (const e of clean.slice(0, Math.max(1, book.entries.size - book.maxEntries + 1))) {
    book.entries.delete(e.key);
  }
  return true;
}
