// births: PodBirthCertificates whose startTime lies in the range, as a table,
// and (timeline: true) one frame per certificate with its kernel cascade.
import type { PodBirthCertificate } from "../../shared/model/pod-birth-certificate.ts";
import { accepts } from "../filters.ts";
import { field, frame, type Frame } from "../frames.ts";
import type { QueryFilters } from "../schemas.ts";

const ms = (t: string) => Date.parse(t);

export function selectBirths(
  all: readonly PodBirthCertificate[],
  sel: { fromMs: number; toMs: number; filters: QueryFilters | undefined; maxRows: number },
) {
  const f = sel.filters ?? {};
  const hits = all.filter((b) => {
    const t = ms(b.spec.startTime);
    const s = b.spec.subject;
    return (
      t >= sel.fromMs &&
      t <= sel.toMs &&
      accepts(f.namespace, s.namespace) &&
      accepts(f.pod, s.pod) &&
      accepts(f.node, s.node)
    );
  });
  hits.sort((a, b) => ms(b.spec.startTime) - ms(a.spec.startTime));
  return { rows: hits.slice(0, sel.maxRows), truncated: hits.length > sel.maxRows };
}

const sum = (o: Record<string, number | undefined>) =>
  Object.values(o).reduce<number>((n, v) => n + (v ?? 0), 0);

export function birthsFrame(refId: string, rows: PodBirthCertificate[], truncated: boolean): Frame {
  const col = <T extends string | number | boolean | null>(f: (b: PodBirthCertificate) => T) =>
    rows.map(f);
  const k = (b: PodBirthCertificate) => b.spec.kernelStats;
  return frame(
    refId,
    [
      field(
        "startTime",
        "time",
        col((b) => ms(b.spec.startTime)),
      ),
      field(
        "name",
        "string",
        col((b) => b.metadata.name ?? ""),
      ),
      field(
        "namespace",
        "string",
        col((b) => b.spec.subject.namespace),
      ),
      field(
        "pod",
        "string",
        col((b) => b.spec.subject.pod),
      ),
      field(
        "podUID",
        "string",
        col((b) => b.spec.subject.podUID ?? null),
      ),
      field(
        "node",
        "string",
        col((b) => b.spec.subject.node ?? null),
      ),
      field(
        "phase",
        "string",
        col((b) => b.status?.phase ?? null),
      ),
      field(
        "duration",
        "number",
        col((b) => k(b).totalDurationSeconds),
        { unit: "s" },
      ),
      field(
        "syscalls",
        "number",
        col((b) => k(b).syscalls),
        { unit: "short" },
      ),
      field(
        "forks",
        "number",
        col((b) => k(b).forks),
        { unit: "short" },
      ),
      field(
        "execs",
        "number",
        col((b) => k(b).execs),
        { unit: "short" },
      ),
      field(
        "namespacesCreated",
        "number",
        col((b) => sum(k(b).namespacesCreated)),
        { unit: "short" },
      ),
      field(
        "cgroupsCreated",
        "number",
        col((b) => k(b).cgroupsCreated.length),
        { unit: "short" },
      ),
      field(
        "cgroupFilesWritten",
        "number",
        col((b) => k(b).cgroupFilesWritten.length),
        { unit: "short" },
      ),
      field(
        "timelineEntries",
        "number",
        col((b) => b.spec.timeline.length),
        { unit: "short" },
      ),
      field(
        "truncated",
        "boolean",
        col((b) => b.spec.truncated ?? false),
      ),
    ],
    {
      name: "births",
      meta: {
        preferredVisualisationType: "table",
        ...(truncated
          ? {
              notices: [
                {
                  severity: "warning" as const,
                  text: "more certificates than the row limit: newest shown",
                },
              ],
            }
          : {}),
      },
    },
  );
}

/** The kernel cascade of one pod start; offsets stay exact in microseconds. */
export function timelineFrame(refId: string, b: PodBirthCertificate): Frame {
  const start = ms(b.spec.startTime);
  const t = b.spec.timeline;
  return frame(
    refId,
    [
      field(
        "time",
        "time",
        t.map((e) => start + e.offsetMicroseconds / 1000),
      ),
      field(
        "offset",
        "number",
        t.map((e) => e.offsetMicroseconds),
        { unit: "µs" },
      ),
      field(
        "actor",
        "string",
        t.map((e) => e.actor),
      ),
      field(
        "action",
        "string",
        t.map((e) => e.action),
      ),
      field(
        "detail",
        "string",
        t.map((e) => e.detail),
      ),
      field(
        "pid",
        "number",
        t.map((e) => e.pid ?? null),
      ),
    ],
    {
      name: `${b.spec.subject.namespace}/${b.spec.subject.pod} birth`,
      meta: { preferredVisualisationType: "table", custom: { certificate: b.metadata.name ?? "" } },
    },
  );
}
