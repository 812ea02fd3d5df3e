// Request and response schemas of the query API. They are the single source
// for validation (fastify/ajv, unknown fields rejected), the handlers' types
// (TypeBox Static) and the OpenAPI document at /openapi.json.
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { SEVERITIES, SIGNALS } from "../shared/model/kernel-whisper.ts";
import { FrameSchema } from "./frames.ts";
import { PLOT_SIGNALS } from "../shared/signals/catalogue.ts";

const closed = { additionalProperties: false } as const;
const enumOf = <T extends string>(values: readonly T[], description?: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  );

const Names = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 100, description });

export const FiltersSchema = Type.Object(
  {
    namespace: Type.Optional(Names("Kubernetes namespaces (any of).")),
    pod: Type.Optional(Names("Pod names (any of).")),
    container: Type.Optional(Names("Container names (any of).")),
    node: Type.Optional(Names("Node names (any of).")),
    cgroup: Type.Optional(Names("cgroup paths, for workloads that are not pods (any of).")),
    signal: Type.Optional(Type.Array(enumOf(SIGNALS), { maxItems: SIGNALS.length })),
    severity: Type.Optional(Type.Array(enumOf(SEVERITIES), { maxItems: SEVERITIES.length })),
  },
  { ...closed, description: "Template variables already substituted; absent = any." },
);
export type QueryFilters = Static<typeof FiltersSchema>;

export const RangeSchema = Type.Object(
  {
    from: Type.Integer({ minimum: 0, description: "Unix milliseconds (inclusive)." }),
    to: Type.Integer({ minimum: 0, description: "Unix milliseconds (inclusive)." }),
  },
  closed,
);

const common = {
  refId: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9_.-]+$" }),
  range: RangeSchema,
  intervalMs: Type.Optional(Type.Integer({ minimum: 1, description: "Step between points." })),
  maxDataPoints: Type.Optional(Type.Integer({ minimum: 1 })),
  filters: Type.Optional(FiltersSchema),
};

const query = <T extends string, P extends Record<string, TSchema>>(
  type: T,
  props: P,
  description: string,
) => Type.Object({ type: Type.Literal(type), ...common, ...props }, { ...closed, description });

export const SignalQuery = query(
  "signal",
  { signal: enumOf(PLOT_SIGNALS, "Which signal to plot.") },
  "Time series of one kernel signal.",
);
export const WhispersQuery = query(
  "whispers",
  {
    format: Type.Optional(
      enumOf(["table", "logs"] as const, "table (default) or Explore log lines."),
    ),
  },
  "KernelWhispers whose [firstSeen, lastSeen] overlaps the range.",
);
export const BirthsQuery = query(
  "births",
  {
    timeline: Type.Optional(
      Type.Boolean({ description: "Also one timeline frame per certificate." }),
    ),
  },
  "PodBirthCertificates whose startTime lies in the range.",
);
export const TruthQuery = query(
  "truth-vs-metrics",
  {},
  "For the workloads the filters select, over the whole range: average CPU % of limit beside the kernel's throttled-period ratio and run-queue delay.",
);
export const PixieQuery = query(
  "pixie",
  {
    script: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: "^[a-z0-9-]+$",
        description:
          "A shipped script by name (src/pixie/scripts/manifest.json), e.g. pod-network.",
      }),
    ),
    pxl: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 65_536,
        description:
          "Your own PxL (only with KG_PIXIE_ALLOW_USER_SCRIPTS=true); __time_from, __time_to and __interval_ns become Unix nanoseconds.",
      }),
    ),
    cluster: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "Pixie cluster id (default the first configured).",
      }),
    ),
    format: Type.Optional(
      enumOf(
        ["series", "table"] as const,
        "series (default for shipped scripts): one frame per pod and value; table: Pixie's tables as they are.",
      ),
    ),
  },
  "A PxL script run through Pixie's ExecuteScript over the range; exactly one of script or pxl.",
);

const QUERY_SCHEMAS = [SignalQuery, WhispersQuery, BirthsQuery, TruthQuery, PixieQuery] as const;
export type Query = Static<(typeof QUERY_SCHEMAS)[number]>;

/** oneOf + discriminator: ajv picks the branch by `type` and reports that branch's errors only. */
export const QuerySchema = Type.Unsafe<Query>({
  type: "object",
  oneOf: [...QUERY_SCHEMAS],
  discriminator: { propertyName: "type" },
});

export const QueryRequestSchema = Type.Object(
  { queries: Type.Array(QuerySchema, { minItems: 1, description: "A batch; see limits." }) },
  closed,
);
export type QueryRequest = Static<typeof QueryRequestSchema>;

export const QueryResultSchema = Type.Object(
  {
    status: Type.Integer({ description: "200, or the failing source's status for this query." }),
    frames: Type.Array(FrameSchema),
    error: Type.Optional(Type.String()),
    source: Type.Optional(Type.String({ description: "The source that failed." })),
  },
  closed,
);
export type QueryResult = Static<typeof QueryResultSchema>;

export const QueryResponseSchema = Type.Object(
  { results: Type.Record(Type.String(), QueryResultSchema, { description: "By refId." }) },
  closed,
);

export const ErrorSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    message: Type.String(),
    field: Type.Optional(
      Type.String({ description: "The offending field, e.g. queries[0].range." }),
    ),
  },
  { ...closed, title: "Error" },
);

export const errorResponses = {
  400: ErrorSchema,
  401: ErrorSchema,
} as const;
