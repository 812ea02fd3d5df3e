// PodBirthCertificate: the kernel cascade of one pod's start — cgroups made,
// limits written, namespaces created, processes forked and exec'd — as an
// ordered timeline plus totals. Single source of truth for the CRD and types.
import { Type, type Static } from "@sinclair/typebox";
import { Conditions } from "./common.ts";
import { StringEnum, Timestamp } from "./schema.ts";
import type { ObjectMeta } from "./meta.ts";

export const ACTORS = ["kubelet", "runtime", "kernel", "container"] as const;
export type Actor = (typeof ACTORS)[number];

export const NAMESPACE_TYPES = [
  "mnt",
  "uts",
  "ipc",
  "pid",
  "net",
  "user",
  "cgroup",
  "time",
] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export const BirthSubjectSchema = Type.Object({
  namespace: Type.String({ minLength: 1, maxLength: 63 }),
  pod: Type.String({ minLength: 1, maxLength: 253 }),
  podUID: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  node: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
});
export type BirthSubject = Static<typeof BirthSubjectSchema>;

export const TimelineEntrySchema = Type.Object({
  offsetMicroseconds: Type.Integer({
    minimum: 0,
    format: "int64",
    description: "Time since the first event of the capture, in microseconds.",
  }),
  actor: StringEnum(ACTORS),
  action: Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: "^[a-z][a-z0-9-]*$",
    description:
      "What happened, e.g. cgroup-created, cgroup-file-written, namespace-created, exec.",
  }),
  detail: Type.String({ maxLength: 1024, description: "Path, value, binary or namespace type." }),
  pid: Type.Optional(Type.Integer({ minimum: 0, format: "int32" })),
  comm: Type.Optional(
    Type.String({ maxLength: 16, description: "The acting process's command name (task comm)." }),
  ),
});
export type TimelineEntry = Static<typeof TimelineEntrySchema>;

const count = (description: string) => Type.Integer({ minimum: 0, format: "int64", description });

export const CgroupFileWriteSchema = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 4096, description: "Control file written." }),
  value: Type.String({ maxLength: 1024, description: "Value written, as the kernel saw it." }),
});
export type CgroupFileWrite = Static<typeof CgroupFileWriteSchema>;

export const KernelStatsSchema = Type.Object({
  syscalls: count("Syscalls made by runtime and container processes during the capture."),
  namespacesCreated: Type.Object(
    {
      mnt: Type.Optional(count("Mount namespaces.")),
      uts: Type.Optional(count("UTS namespaces.")),
      ipc: Type.Optional(count("IPC namespaces.")),
      pid: Type.Optional(count("PID namespaces.")),
      net: Type.Optional(count("Network namespaces.")),
      user: Type.Optional(count("User namespaces.")),
      cgroup: Type.Optional(count("Cgroup namespaces.")),
      time: Type.Optional(count("Time namespaces.")),
    },
    { description: "Namespaces created during the capture, by type." },
  ),
  // Bounds match the observer's per-window bounds (ADR 0017), so the list lengths the
  // gateway shows as counts are the kernel's unless spec.truncated says otherwise.
  cgroupsCreated: Type.Array(
    Type.Object({
      hierarchy: Type.String({ minLength: 1, maxLength: 128, description: "e.g. cpu,cpuacct." }),
      path: Type.String({ minLength: 1, maxLength: 4096 }),
    }),
    { maxItems: 256 },
  ),
  cgroupFilesWritten: Type.Array(CgroupFileWriteSchema, { maxItems: 512 }),
  forks: count("Processes forked."),
  execs: count("Programs exec'd."),
  skippedKernelEvents: Type.Optional(
    count(
      "Events the kernel skipped in the observer's birth programs, node-wide, during the capture; when set, a fork, exec or write may be missing.",
    ),
  ),
  totalDurationSeconds: Type.Number({
    minimum: 0,
    description: "From the first event to the entrypoint's exec, in seconds.",
  }),
});

export type KernelStats = Static<typeof KernelStatsSchema>;

export const PodBirthCertificateSpecSchema = Type.Object({
  subject: BirthSubjectSchema,
  startTime: Timestamp("Wall-clock time of the first event; timeline offsets count from here."),
  timeline: Type.Array(TimelineEntrySchema, { maxItems: 512 }),
  truncated: Type.Optional(
    Type.Boolean({ description: "True when the timeline or a list was cut at its bounds." }),
  ),
  kernelStats: KernelStatsSchema,
});
export type PodBirthCertificateSpec = Static<typeof PodBirthCertificateSpecSchema>;

export const BIRTH_PHASES = ["Complete", "Incomplete"] as const;

export const PodBirthCertificateStatusSchema = Type.Object({
  phase: Type.Optional(StringEnum(BIRTH_PHASES)),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: "int64" })),
  conditions: Type.Optional(Conditions),
});
export type PodBirthCertificateStatus = Static<typeof PodBirthCertificateStatusSchema>;

export interface PodBirthCertificate {
  apiVersion: "kernel.gossip.io/v1alpha1";
  kind: "PodBirthCertificate";
  metadata: ObjectMeta;
  spec: PodBirthCertificateSpec;
  status?: PodBirthCertificateStatus;
}
