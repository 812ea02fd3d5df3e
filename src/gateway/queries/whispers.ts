// whispers: KernelWhispers from the informer cache whose [firstSeen, lastSeen]
// overlaps the range, as a table or as Explore log lines.
import type { KernelWhisper } from "../../shared/model/kernel-whisper.ts";
import type { Evidence } from "../../shared/model/common.ts";
import { accepts } from "../filters.ts";
import { whisperCandidates, whisperNamespace } from "./index.ts";
import { field, frame, type Frame } from "../frames.ts";
import type { QueryFilters } from "../schemas.ts";

export interface WhisperSelection {
  fromMs: number;
  toMs: number;
  filters: QueryFilters | undefined;
  maxRows: number;
}

const ms = (t: string) => Date.parse(t);

// Parsed timestamps per object: informer objects are replaced, never mutated,
// so a WeakMap entry is valid for the object's life.
const times = new WeakMap<KernelWhisper, { first: number; last: number }>();
function seen(w: KernelWhisper) {
  let t = times.get(w);
  if (!t) times.set(w, (t = { first: ms(w.spec.firstSeen), last: ms(w.spec.lastSeen) }));
  return t;
}

/** Whispers matching filters and range, newest lastSeen first, at most maxRows (+ whether cut). */
export function selectWhispers(all: readonly KernelWhisper[], sel: WhisperSelection) {
  const f = sel.filters ?? {};
  const hits = whisperCandidates(all, f.namespace).filter((w) => {
    const s = w.spec.subject;
    return (
      seen(w).first <= sel.toMs &&
      seen(w).last >= sel.fromMs &&
      accepts(f.namespace, whisperNamespace(w)) &&
      accepts(f.pod, s.pod) &&
      accepts(f.container, s.container) &&
      accepts(f.node, s.node) &&
      accepts(f.cgroup, s.cgroupPath) &&
      accepts(f.signal, w.spec.signal) &&
      accepts(f.severity, w.spec.severity)
    );
  });
  hits.sort((a, b) => seen(b).last - seen(a).last);
  return { rows: hits.slice(0, sel.maxRows), truncated: hits.length > sel.maxRows };
}

/** "throttledPeriodsRatio=0.62 ratio, throttledSeconds=41.5 seconds" */
export const evidenceText = (e: Evidence | undefined) =>
  e ? e.quantities.map((q) => `${q.name}=${q.value} ${q.unit}`).join(", ") : "";

export const workloadOf = (w: KernelWhisper) => {
  const s = w.spec.subject;
  return s.pod ? [s.namespace, s.pod, s.container].filter(Boolean).join("/") : (s.cgroupPath ?? "");
};

/** One line a human reads in Explore or an annotation. */
export function whisperText(w: KernelWhisper): string {
  const said = w.status?.insight ?? evidenceText(w.spec.kernelTruth);
  const metrics = w.spec.metricsView ? ` (metrics said: ${evidenceText(w.spec.metricsView)})` : "";
  return `${w.spec.signal} on ${workloadOf(w)}: ${said}${metrics}`;
}

const notice = (truncated: boolean, max: number) =>
  truncated
    ? {
        notices: [
          {
            severity: "warning" as const,
            text: `more than ${max} whispers: showing the newest ${max}`,
          },
        ],
      }
    : {};

export function whispersFrame(
  refId: string,
  rows: KernelWhisper[],
  truncated: boolean,
  max: number,
): Frame {
  const col = <T extends string | number | null>(f: (w: KernelWhisper) => T) => rows.map(f);
  return frame(
    refId,
    [
      field(
        "lastSeen",
        "time",
        col((w) => ms(w.spec.lastSeen)),
      ),
      field(
        "firstSeen",
        "time",
        col((w) => ms(w.spec.firstSeen)),
      ),
      field(
        "name",
        "string",
        col((w) => w.metadata.name ?? ""),
      ),
      field(
        "namespace",
        "string",
        col((w) => w.spec.subject.namespace ?? w.metadata.namespace ?? ""),
      ),
      field(
        "pod",
        "string",
        col((w) => w.spec.subject.pod ?? null),
      ),
      field(
        "container",
        "string",
        col((w) => w.spec.subject.container ?? null),
      ),
      field(
        "node",
        "string",
        col((w) => w.spec.subject.node ?? null),
      ),
      field(
        "cgroup",
        "string",
        col((w) => w.spec.subject.cgroupPath ?? null),
      ),
      field(
        "signal",
        "string",
        col((w) => w.spec.signal),
      ),
      field(
        "severity",
        "string",
        col((w) => w.spec.severity),
      ),
      field(
        "phase",
        "string",
        col((w) => w.status?.phase ?? null),
      ),
      field(
        "occurrences",
        "number",
        col((w) => w.spec.occurrences),
        { unit: "short" },
      ),
      field(
        "kernelTruth",
        "string",
        col((w) => evidenceText(w.spec.kernelTruth)),
      ),
      field(
        "metricsView",
        "string",
        col((w) => evidenceText(w.spec.metricsView) || null),
      ),
      field(
        "insight",
        "string",
        col((w) => w.status?.insight ?? null),
      ),
      field(
        "action",
        "string",
        col((w) => w.status?.recommendation?.action ?? null),
      ),
      // The operator's reasoning with the exact new value ("Raise the limit to 120Mi …").
      field(
        "recommendation",
        "string",
        col((w) => w.status?.recommendation?.rationale ?? null),
      ),
      field(
        "source",
        "string",
        col((w) => w.spec.source),
      ),
    ],
    { name: "whispers", meta: { preferredVisualisationType: "table", ...notice(truncated, max) } },
  );
}

/** Explore's log frame: timestamp, body, severity, id, labels. */
export function whisperLogsFrame(
  refId: string,
  rows: KernelWhisper[],
  truncated: boolean,
  max: number,
): Frame {
  return frame(
    refId,
    [
      field(
        "timestamp",
        "time",
        rows.map((w) => ms(w.spec.lastSeen)),
      ),
      field("body", "string", rows.map(whisperText)),
      field(
        "severity",
        "string",
        rows.map((w) => w.spec.severity),
      ),
      field(
        "id",
        "string",
        rows.map(
          (w) => `${w.metadata.uid ?? w.metadata.name ?? ""}:${w.metadata.resourceVersion ?? ""}`,
        ),
      ),
      field(
        "labels",
        "other",
        rows.map((w) => {
          const s = w.spec.subject;
          const l: Record<string, string> = { signal: w.spec.signal, severity: w.spec.severity };
          for (const [k, v] of Object.entries({
            namespace: s.namespace,
            pod: s.pod,
            container: s.container,
            node: s.node,
          })) {
            if (v) l[k] = v;
          }
          return l;
        }),
      ),
    ],
    {
      name: "whispers",
      meta: { type: "log-lines", preferredVisualisationType: "logs", ...notice(truncated, max) },
    },
  );
}
