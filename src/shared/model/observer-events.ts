// The observer's /events stream (NDJSON), one line per event. Mirrors the Rust
// nouns in observer/src/events.rs field for field (C `struct oom_event` →
// Rust `OomEvent` → here `OomEvent`); the operator validates every line with
// these schemas, so a drift shows up as counted, rejected lines and a failing test.
import { Type, type Static } from "@sinclair/typebox";
import { StringEnum } from "./schema.ts";

export const WORKLOAD_KINDS = ["pod", "container", "service", "cgroup"] as const;

export const WorkloadSchema = Type.Object({
  kind: StringEnum(WORKLOAD_KINDS),
  namespace: Type.Optional(Type.String()),
  pod: Type.Optional(Type.String()),
  podUID: Type.Optional(Type.String()),
  container: Type.Optional(Type.String()),
  containerID: Type.Optional(Type.String()),
  cgroup: Type.String({ description: "Path below the hierarchy root, starting with '/'." }),
});
export type Workload = Static<typeof WorkloadSchema>;

export const OomEventSchema = Type.Object({
  pid: Type.Integer(),
  tgid: Type.Integer(),
  comm: Type.String(),
  anonRssBytes: Type.Integer({ minimum: 0 }),
  fileRssBytes: Type.Integer({ minimum: 0 }),
  shmemRssBytes: Type.Integer({ minimum: 0 }),
  totalVmBytes: Type.Integer({ minimum: 0 }),
  oomScoreAdj: Type.Integer(),
  uid: Type.Integer(),
  memcg: Type.String(),
});
export type OomEvent = Static<typeof OomEventSchema>;

export const ThrottleEpisodeSchema = Type.Object({
  start: Type.String(),
  end: Type.String(),
  durationSeconds: Type.Number({ minimum: 0 }),
  periods: Type.Integer({ minimum: 0 }),
  throttledPeriods: Type.Integer({ minimum: 0 }),
  ratio: Type.Number({ minimum: 0, maximum: 1 }),
  throttledSeconds: Type.Number({ minimum: 0 }),
  limitCores: Type.Union([Type.Number(), Type.Null()]),
  /** CPU time the cgroup used over the episode (cpuacct / cpu.stat usage). */
  usageSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  /** True while the episode is still open (a progress report), false/absent when closed. */
  ongoing: Type.Optional(Type.Boolean()),
});
export type ThrottleEpisode = Static<typeof ThrottleEpisodeSchema>;

export const DropBurstSchema = Type.Object({
  reason: Type.String(),
  netns: Type.Integer(),
  drops: Type.Integer({ minimum: 0 }),
  intervalSeconds: Type.Number({ minimum: 0 }),
});
export type DropBurst = Static<typeof DropBurstSchema>;

export const RetransmitBurstSchema = Type.Object({
  netns: Type.Integer(),
  retransmits: Type.Integer({ minimum: 0 }),
  intervalSeconds: Type.Number({ minimum: 0 }),
});
export type RetransmitBurst = Static<typeof RetransmitBurstSchema>;

export const CgroupChangeSchema = Type.Object({
  id: Type.Integer(),
  hierarchy: Type.String(),
  level: Type.Integer(),
});
export type CgroupChange = Static<typeof CgroupChangeSchema>;

// A pod (or bare container) start captured by the observer: one capture window
// from the first cgroup made for the workload to its entrypoint's exec (plus a
// grace period), or to a timeout (complete = false). The operator turns it into
// a PodBirthCertificate; field names match that CRD's spec where they overlap.
export const BIRTH_ACTORS = ["kubelet", "runtime", "kernel", "container"] as const;
export const BIRTH_CLOSE_REASONS = ["entrypoint", "timeout", "shutdown"] as const;

export const BirthStepSchema = Type.Object({
  offsetMicroseconds: Type.Integer({ minimum: 0, description: "Since the window's first event." }),
  actor: StringEnum(BIRTH_ACTORS),
  action: Type.String({
    description: "cgroup-created, cgroup-file-written, namespace-created, fork, exec, …",
  }),
  detail: Type.String(),
  pid: Type.Optional(Type.Integer({ minimum: 0 })),
  comm: Type.Optional(Type.String()),
});
export type BirthStep = Static<typeof BirthStepSchema>;

export const BirthContainerSchema = Type.Object({
  id: Type.String({ description: "Container id: the last cgroup path component." }),
  cgroup: Type.String(),
  sandbox: Type.Boolean({ description: "True for the pod's first container (the pause sandbox)." }),
  entrypoint: Type.Optional(
    Type.String({ description: "Path of the first program exec'd inside." }),
  ),
  entrypointOffsetMicroseconds: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type BirthContainer = Static<typeof BirthContainerSchema>;

const birthCount = Type.Integer({ minimum: 0 });

export const BirthEventSchema = Type.Object({
  windowId: Type.Integer({ minimum: 1 }),
  start: Type.String({ description: "RFC 3339 wall-clock time of the first event." }),
  complete: Type.Boolean({
    description: "False when the window closed without an entrypoint exec.",
  }),
  closeReason: StringEnum(BIRTH_CLOSE_REASONS),
  durationSeconds: Type.Number({
    minimum: 0,
    description: "First event to the last entrypoint exec; to the close when incomplete.",
  }),
  syscalls: birthCount,
  forks: birthCount,
  execs: birthCount,
  namespacesCreated: Type.Object({
    mnt: Type.Optional(birthCount),
    uts: Type.Optional(birthCount),
    ipc: Type.Optional(birthCount),
    pid: Type.Optional(birthCount),
    net: Type.Optional(birthCount),
    user: Type.Optional(birthCount),
    cgroup: Type.Optional(birthCount),
    time: Type.Optional(birthCount),
  }),
  cgroupsCreated: Type.Array(Type.Object({ hierarchy: Type.String(), path: Type.String() })),
  cgroupFilesWritten: Type.Array(Type.Object({ path: Type.String(), value: Type.String() })),
  containers: Type.Array(BirthContainerSchema),
  timeline: Type.Array(BirthStepSchema),
  truncated: Type.Boolean({ description: "True when timeline or lists were cut at their bounds." }),
  skippedKernelEvents: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        "Events the kernel skipped in the observer's birth programs, node-wide, while the window was open (BPF recursion misses); when not 0 a fork, exec or write may be missing.",
    }),
  ),
});
export type BirthEvent = Static<typeof BirthEventSchema>;

// Who stole my CPU (ADR 0095): within one sampling interval, other cgroups ran
// on the CPU while tasks of the event's workload (the victim) waited for it.
export const StolenCulpritSchema = Type.Object({
  workload: WorkloadSchema,
  seconds: Type.Number({ minimum: 0 }),
  share: Type.Number({
    minimum: 0,
    maximum: 1,
    description: "Of the victim's attributed wait in the interval.",
  }),
});
export type StolenCulprit = Static<typeof StolenCulpritSchema>;

export const CpuStolenSchema = Type.Object({
  intervalSeconds: Type.Number({ minimum: 0 }),
  delaySeconds: Type.Number({ minimum: 0, description: "Run-queue delay in the interval." }),
  stolenSeconds: Type.Number({ minimum: 0, description: "Of it, while other cgroups ran." }),
  selfSeconds: Type.Number({ minimum: 0, description: "While the victim's own tasks ran." }),
  otherSeconds: Type.Number({ minimum: 0, description: "Culprits beyond the top-k." }),
  unknownSeconds: Type.Number({ minimum: 0, description: "Not covered by a run slice." }),
  culprits: Type.Array(StolenCulpritSchema, { description: "Largest first, top-k." }),
});
export type CpuStolen = Static<typeof CpuStolenSchema>;

const envelope = {
  seq: Type.Integer({ minimum: 1 }),
  /** The observer run that numbered `seq` (sequence numbers restart with a new instance). */
  instance: Type.Optional(Type.String()),
  ts: Type.String(),
  tsUnixMs: Type.Integer(),
  node: Type.String(),
  workload: WorkloadSchema,
};

export const ObserverEventSchema = Type.Union([
  Type.Object({ ...envelope, type: Type.Literal("oom_kill"), evidence: OomEventSchema }),
  Type.Object({
    ...envelope,
    type: Type.Literal("throttle_episode"),
    evidence: ThrottleEpisodeSchema,
  }),
  Type.Object({ ...envelope, type: Type.Literal("drop_burst"), evidence: DropBurstSchema }),
  Type.Object({
    ...envelope,
    type: Type.Literal("retransmit_burst"),
    evidence: RetransmitBurstSchema,
  }),
  Type.Object({ ...envelope, type: Type.Literal("cgroup_created"), evidence: CgroupChangeSchema }),
  Type.Object({ ...envelope, type: Type.Literal("cgroup_removed"), evidence: CgroupChangeSchema }),
  Type.Object({ ...envelope, type: Type.Literal("birth"), evidence: BirthEventSchema }),
  Type.Object({ ...envelope, type: Type.Literal("cpu_stolen"), evidence: CpuStolenSchema }),
]);
export type ObserverEvent = Static<typeof ObserverEventSchema>;
