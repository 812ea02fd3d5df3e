// Types shared by both CRDs: API-convention conditions and kernel evidence.
import { Type, type Static } from "@sinclair/typebox";
import { StringEnum, StringMap, Timestamp, cel } from "./schema.ts";

/** metav1.Condition, as Kubernetes API conventions define it. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 316, description: "Condition type, CamelCase." }),
    status: StringEnum(["True", "False", "Unknown"] as const),
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, format: "int64" })),
    lastTransitionTime: Timestamp("When the condition last changed status."),
    reason: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
      description: "Machine-readable CamelCase reason.",
    }),
    message: Type.String({ maxLength: 32768, description: "Human-readable detail." }),
  },
  { description: "A standard Kubernetes condition." },
);
export type Condition = Static<typeof ConditionSchema>;

export const Conditions = Type.Array(ConditionSchema, {
  maxItems: 16,
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
});

/** Units a quantity may carry. Every number shown to a user names one. */
export const UNITS = [
  "seconds",
  "ratio",
  "percent",
  "cores",
  "bytes",
  "kibibytes",
  "count",
  "pid",
  "packets",
  "per-second",
] as const;
export type Unit = (typeof UNITS)[number];

/** A time window a piece of evidence covers. */
export const WindowSchema = Type.Object(
  {
    start: Timestamp("Start of the window (inclusive)."),
    end: Timestamp("End of the window (exclusive)."),
  },
  cel({
    rule: "timestamp(self.end) >= timestamp(self.start)",
    message: "end must not be before start",
  }),
);
export type Window = Static<typeof WindowSchema>;

/** One named measurement with its unit, e.g. throttledPeriodsRatio = 0.62 ratio. */
export const QuantitySchema = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: "^[a-z][A-Za-z0-9]*$",
      description: "lowerCamelCase name of the quantity, e.g. throttledPeriodsRatio.",
    }),
    value: Type.Number({ description: "The measured value, in `unit`." }),
    unit: StringEnum(UNITS, { description: "Unit of `value`." }),
  },
  cel(
    {
      rule: "!(self.unit in ['count', 'packets', 'bytes', 'kibibytes', 'seconds', 'cores', 'pid']) || self.value >= 0",
      message: "value must not be negative for this unit",
      fieldPath: ".value",
    },
    {
      rule: "self.unit != 'ratio' || (self.value >= 0 && self.value <= 1)",
      message: "a ratio must lie between 0 and 1",
      fieldPath: ".value",
    },
  ),
);
export type Quantity = Static<typeof QuantitySchema>;

const evidenceProperties = {
  window: WindowSchema,
  quantities: Type.Array(QuantitySchema, { minItems: 1, maxItems: 32 }),
  attributes: Type.Optional(
    StringMap({
      maxProperties: 16,
      description: "Non-numeric facts, e.g. the OOM victim's comm or a drop reason name.",
    }),
  ),
  origin: Type.Optional(
    Type.String({
      maxLength: 512,
      description: "Where the numbers came from, e.g. a PromQL expression or a kernel tracepoint.",
    }),
  ),
};

/** Evidence: measured quantities over one window, with where they came from. */
export const Evidence = (description: string) => Type.Object(evidenceProperties, { description });
export const EvidenceSchema = Evidence("Measured quantities over one window.");
export type Evidence = Static<typeof EvidenceSchema>;
