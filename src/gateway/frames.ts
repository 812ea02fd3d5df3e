// Data frames in Grafana's JSON shape: what @grafana/data's toDataFrame()
// accepts as-is ({name, refId, meta, fields: [{name, type, config, labels,
// values}]}). The schema doubles as the OpenAPI description of every answer.
import { Type, type Static } from "@sinclair/typebox";

export const FIELD_TYPES = ["time", "number", "string", "boolean", "other"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

// Cells are primitives, or a label map for a log frame's `labels` field.
const Cell = Type.Union([
  Type.Number(),
  Type.String(),
  Type.Boolean(),
  Type.Null(),
  Type.Record(Type.String(), Type.String()),
]);

export const FieldSchema = Type.Object(
  {
    name: Type.String(),
    type: Type.Union(FIELD_TYPES.map((t) => Type.Literal(t))),
    config: Type.Object(
      {
        unit: Type.Optional(Type.String({ description: "Grafana unit id, e.g. s, percent." })),
        displayName: Type.Optional(Type.String()),
        displayNameFromDS: Type.Optional(Type.String()),
        interval: Type.Optional(
          Type.Number({ description: "Step in ms: lets Grafana show gaps as gaps." }),
        ),
        description: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    values: Type.Array(Cell),
  },
  { additionalProperties: false },
);
export type Field = Static<typeof FieldSchema>;

export const FrameMetaSchema = Type.Object(
  {
    type: Type.Optional(Type.String({ description: "e.g. timeseries-multi, log-lines." })),
    preferredVisualisationType: Type.Optional(
      Type.Union(["graph", "table", "logs", "trace", "nodeGraph"].map((t) => Type.Literal(t))),
    ),
    executedQueryString: Type.Optional(Type.String()),
    notices: Type.Optional(
      Type.Array(
        Type.Object({
          severity: Type.Union(["info", "warning", "error"].map((t) => Type.Literal(t))),
          text: Type.String(),
        }),
      ),
    ),
    custom: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type FrameMeta = Static<typeof FrameMetaSchema>;

export const FrameSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    refId: Type.String(),
    meta: Type.Optional(FrameMetaSchema),
    fields: Type.Array(FieldSchema),
    length: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false, title: "DataFrame" },
);
export type Frame = Static<typeof FrameSchema>;

type Value = string | number | boolean | null | Record<string, string>;

/** A field; `values` are copied so callers may reuse their arrays. */
export function field(
  name: string,
  type: FieldType,
  values: readonly Value[],
  extra: { unit?: string; labels?: Record<string, string>; interval?: number } = {},
): Field {
  const config: Field["config"] = {};
  if (extra.unit) config.unit = extra.unit;
  if (extra.interval) config.interval = extra.interval;
  const f: Field = { name, type, config, values: [...values] };
  if (extra.labels && Object.keys(extra.labels).length) f.labels = extra.labels;
  return f;
}

/** A frame; every field must have the same number of values. */
export function frame(
  refId: string,
  fields: Field[],
  opts: { name?: string; meta?: FrameMeta } = {},
) {
  const length = fields[0]?.values.length ?? 0;
  for (const f of fields) {
    if (f.values.length !== length) {
      throw new Error(
        `frame ${refId}: field ${f.name} has ${f.values.length} values, not ${length}`,
      );
    }
  }
  const out: Frame = { refId, fields, length };
  if (opts.name) out.name = opts.name;
  if (opts.meta) out.meta = opts.meta;
  return out;
}
