// KernelWhisper: a kernel-level problem observed on a workload, the evidence
// for it, what averaged metrics said about the same window, and what to do.
// This file is the single source of truth: the CRD YAML in deploy/crds/ is
// generated from these schemas and the TypeScript types are derived from them.
import { Type, type Static } from "@sinclair/typebox";
import { Conditions, Evidence, WindowSchema } from "./common.ts";
import { StringEnum, Timestamp, cel } from "./schema.ts";
import type { ObjectMeta } from "./meta.ts";

export const SIGNALS = [
  "cpu-throttling",
  "runqueue-delay",
  "oom-kill",
  "memory-pressure",
  "packet-drops",
  "tcp-retransmits",
  "tcp-resets",
] as const;
export type Signal = (typeof SIGNALS)[number];

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const WHISPER_SOURCES = ["observer", "grafana", "alertmanager", "pixie"] as const;
export type WhisperSource = (typeof WHISPER_SOURCES)[number];

const name = (description: string) => Type.String({ minLength: 1, maxLength: 253, description });

/** Who the whisper is about: a pod's container, or a plain cgroup on a node. */
export const SubjectSchema = Type.Object(
  {
    namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    pod: Type.Optional(name("Pod name.")),
    container: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    node: Type.Optional(name("Node the kernel evidence was observed on.")),
    podUID: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    containerID: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    cgroupPath: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, description: "cgroup path on the node." }),
    ),
  },
  cel(
    {
      rule: "has(self.pod) || has(self.cgroupPath)",
      message: "subject must name a pod or a cgroupPath",
    },
    {
      rule: "!has(self.pod) || has(self.namespace)",
      message: "a pod subject needs its namespace",
      fieldPath: ".namespace",
    },
  ),
);
export type Subject = Static<typeof SubjectSchema>;

export const KernelWhisperSpecSchema = Type.Object(
  {
    subject: SubjectSchema,
    signal: StringEnum(SIGNALS, { description: "Which kernel signal this is about." }),
    severity: StringEnum(SEVERITIES),
    kernelTruth: Evidence("What the kernel measured (quantities with units over a window)."),
    metricsView: Type.Optional(
      Evidence(
        "What the usual averaged metric says for the same window (the contrast to kernelTruth).",
      ),
    ),
    source: StringEnum(WHISPER_SOURCES, { description: "Who reported it." }),
    firstSeen: Timestamp("First time the signal was seen."),
    lastSeen: Timestamp("Most recent time the signal was seen."),
    occurrences: Type.Integer({ minimum: 1, format: "int32", description: "Times seen." }),
  },
  cel({
    rule: "timestamp(self.lastSeen) >= timestamp(self.firstSeen)",
    message: "lastSeen must not be before firstSeen",
    fieldPath: ".lastSeen",
  }),
);
export type KernelWhisperSpec = Static<typeof KernelWhisperSpecSchema>;

export const RECOMMENDED_ACTIONS = [
  "none",
  "raise-cpu-limit",
  "remove-cpu-limit",
  "set-cpu-burst",
  "raise-memory-limit",
  "spread-replicas",
  "investigate-network",
] as const;
export type RecommendedAction = (typeof RECOMMENDED_ACTIONS)[number];

/** The exact change a recommendation proposes to a resource. */
export const ResourceChangeSchema = Type.Object({
  target: Type.Object({
    apiVersion: Type.String({ minLength: 1, maxLength: 253 }),
    kind: Type.String({ minLength: 1, maxLength: 63 }),
    namespace: Type.String({ minLength: 1, maxLength: 63 }),
    name: name("Target object name."),
  }),
  container: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  field: Type.String({
    minLength: 1,
    maxLength: 512,
    description: "Field path, e.g. spec.containers[name=app].resources.limits.cpu.",
  }),
  from: Type.Optional(Type.String({ maxLength: 256, description: "Current value." })),
  to: Type.String({ maxLength: 256, description: "Proposed value." }),
  patch: Type.Optional(
    Type.String({ maxLength: 8192, description: "The strategic-merge patch that applies it." }),
  ),
});
export type ResourceChange = Static<typeof ResourceChangeSchema>;

export const RecommendationSchema = Type.Object({
  action: StringEnum(RECOMMENDED_ACTIONS),
  rationale: Type.String({ minLength: 1, maxLength: 4096 }),
  change: Type.Optional(ResourceChangeSchema),
});
export type Recommendation = Static<typeof RecommendationSchema>;

export const ACTION_MODES = ["dry-run", "applied", "refused", "failed"] as const;

/** An audit entry: what was done, or would have been done in dry-run. */
export const ActionRecordSchema = Type.Object({
  time: Timestamp("When the action was taken or considered."),
  action: StringEnum([...RECOMMENDED_ACTIONS, "rollback"] as const, {
    description: "The recommended action acted on, or rollback (a verified action undone).",
  }),
  mode: StringEnum(ACTION_MODES),
  result: Type.String({ maxLength: 4096 }),
  actor: Type.Optional(Type.String({ maxLength: 253, description: "Who or what acted." })),
});
export type ActionRecord = Static<typeof ActionRecordSchema>;

export const WHISPER_PHASES = ["Active", "Resolved"] as const;
export type WhisperPhase = (typeof WHISPER_PHASES)[number];

/** How much of its window a right-sizing recommendation rests on (ADR 0090). */
export const SIZING_CONFIDENCES = ["insufficient", "low", "medium", "high"] as const;
export type SizingConfidence = (typeof SIZING_CONFIDENCES)[number];

const num = (description: string) => Type.Number({ description });
const text = (description: string) => Type.String({ maxLength: 1024, description });

/** What the kernel's counters said over a span: the evidence of a sizing and of a verification. */
export const SizingMeasuresSchema = Type.Object({
  seconds: num("Seconds of samples the figures rest on."),
  samples: Type.Integer({ minimum: 0, format: "int32" }),
  usageCores: num("CPU used, cores (cpuacct.usage / cpu.stat usage)."),
  throttledShare: num("Throttled CFS periods / active CFS periods (cpu.stat), ratio."),
  throttledSecondsPerSecond: num("Time held by the quota (throttled_time), seconds per second."),
  runqueueDelaySecondsPerSecond: num("Time runnable but waiting for a CPU, seconds per second."),
  memoryStallSecondsPerSecond: num("PSI memory some-stall, seconds per second."),
  reclaimSecondsPerSecond: num("memcg direct reclaim, seconds per second."),
  oomKills: Type.Integer({ minimum: 0, format: "int64" }),
});
export type SizingMeasures = Static<typeof SizingMeasuresSchema>;

/** A kernel-aware right-sizing recommendation for the subject's container (ADR 0090). */
export const SizingSchema = Type.Object({
  container: Type.String({ minLength: 1, maxLength: 63 }),
  source: StringEnum(["observer-metrics", "prometheus"] as const, {
    description: "Where the window's samples came from.",
  }),
  window: WindowSchema,
  confidence: StringEnum(SIZING_CONFIDENCES),
  coverage: num("Share of the window the samples cover, ratio."),
  samples: Type.Integer({ minimum: 0, format: "int32" }),
  evidence: SizingMeasuresSchema,
  cpu: Type.Object({
    current: Type.Optional(text("Current CPU limit.")),
    recommended: Type.Optional(text("Recommended CPU limit; absent when no change is asked.")),
    demandCores: Type.Optional(num("Percentile of per-interval demand, cores.")),
    usageOnly: Type.Optional(text("What p95 usage (KRR) and p90 × 1.15 (VPA) say.")),
    rationale: Type.String({ maxLength: 2048 }),
  }),
  memory: Type.Object({
    current: Type.Optional(text("Current memory limit.")),
    recommended: Type.Optional(text("Recommended memory limit.")),
    peakWorkingSet: Type.Optional(text("Peak working set in the window.")),
    rationale: Type.String({ maxLength: 2048 }),
  }),
});
export type Sizing = Static<typeof SizingSchema>;

export const VERIFICATION_PHASES = [
  "watching",
  "improved",
  "rolled-back",
  "rollback-waiting",
  "rollback-failed",
] as const;
export type VerificationPhase = (typeof VERIFICATION_PHASES)[number];

/** A verified action: the same evidence before and after an applied change (ADR 0091). */
export const VerificationSchema = Type.Object({
  phase: StringEnum(VERIFICATION_PHASES),
  container: Type.String({ minLength: 1, maxLength: 63 }),
  field: text("The changed field, e.g. resources.limits.cpu."),
  from: text("Value before the change."),
  to: text("Value applied."),
  requestFollows: Type.Optional(
    Type.Boolean({ description: "The request was changed with the limit (Guaranteed QoS)." }),
  ),
  appliedAt: Timestamp("When the change was applied."),
  decideAt: Timestamp("When the equal window after the change closes."),
  before: SizingMeasuresSchema,
  after: Type.Optional(SizingMeasuresSchema),
  reason: Type.Optional(Type.String({ maxLength: 2048 })),
});
export type Verification = Static<typeof VerificationSchema>;

export const KernelWhisperStatusSchema = Type.Object({
  phase: Type.Optional(StringEnum(WHISPER_PHASES)),
  insight: Type.Optional(Type.String({ maxLength: 4096, description: "One human sentence." })),
  recommendation: Type.Optional(RecommendationSchema),
  actions: Type.Optional(Type.Array(ActionRecordSchema, { maxItems: 64 })),
  conditions: Type.Optional(Conditions),
  sizing: Type.Optional(SizingSchema),
  verification: Type.Optional(VerificationSchema),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: "int64" })),
});
export type KernelWhisperStatus = Static<typeof KernelWhisperStatusSchema>;

export interface KernelWhisper {
  apiVersion: "kernel.gossip.io/v1alpha1";
  kind: "KernelWhisper";
  metadata: ObjectMeta;
  spec: KernelWhisperSpec;
  status?: KernelWhisperStatus;
}
