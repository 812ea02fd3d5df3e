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

const envelope = {
  seq: Type.Integer({ minimum: 1 }),
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
]);
export type ObserverEvent = Static<typeof ObserverEventSchema>;
