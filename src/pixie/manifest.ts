// The PxL script manifest (scripts/manifest.json) as typed data: which scripts
// the gateway may run by name, the function and arguments it calls through
// ExecuteScript, each output column's Pixie type and Grafana unit, and the
// OTLP metrics each export twin pushes. Validated at load, so a malformed
// manifest fails the gateway's start, not a query.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Type, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

export const SCRIPTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "scripts");

/** Pixie's column data types (px.api.vizierpb.DataType names). */
export const PIXIE_TYPES = [
  "BOOLEAN",
  "INT64",
  "UINT128",
  "FLOAT64",
  "STRING",
  "TIME64NS",
] as const;
export type PixieType = (typeof PIXIE_TYPES)[number];

const Column = Type.Object(
  {
    name: Type.String({ pattern: "^[a-z_][a-z0-9_]*$" }),
    type: Type.Union(PIXIE_TYPES.map((t) => Type.Literal(t))),
    unit: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const TEMPORALITIES = ["cumulative", "delta", "gauge"] as const;
export type Temporality = (typeof TEMPORALITIES)[number];

const Metric = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    temporality: Type.Union(TEMPORALITIES.map((t) => Type.Literal(t))),
    unit: Type.String(),
    attributes: Type.Array(Type.String()),
    signal: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const Script = Type.Object(
  {
    file: Type.String(),
    function: Type.String({ pattern: "^[a-z_][a-z0-9_]*$" }),
    args: Type.Array(
      Type.Union([Type.Literal("start_time"), Type.Literal("end_time"), Type.Literal("window_ns")]),
    ),
    description: Type.String(),
    labels: Type.Array(Type.String()),
    columns: Type.Array(Column, { minItems: 1 }),
    export: Type.Optional(
      Type.Object(
        { file: Type.String(), columns: Type.Array(Column), metrics: Type.Array(Metric) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const Manifest = Type.Object(
  { about: Type.String(), scripts: Type.Record(Type.String(), Script) },
  { additionalProperties: false },
);

export type ScriptDef = Static<typeof Script> & { name: string };
export type ColumnDef = Static<typeof Column>;
export type MetricDef = Static<typeof Metric>;

export function loadManifest(dir = SCRIPTS_DIR): Map<string, ScriptDef> {
  const raw: unknown = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
  if (!Value.Check(Manifest, raw)) {
    const first = Value.Errors(Manifest, raw).First();
    throw new Error(`${dir}/manifest.json: ${first?.path ?? ""} ${first?.message ?? "invalid"}`);
  }
  return new Map(Object.entries(raw.scripts).map(([name, s]) => [name, { ...s, name }]));
}

/** The PxL text of a script file next to the manifest. */
export const readScript = (file: string, dir = SCRIPTS_DIR) =>
  readFileSync(join(dir, file), "utf8");

/** Every metric the export twins push, by OTLP metric name. */
export function exportedMetrics(scripts: Map<string, ScriptDef>): Map<string, MetricDef> {
  const out = new Map<string, MetricDef>();
  for (const s of scripts.values()) for (const m of s.export?.metrics ?? []) out.set(m.name, m);
  return out;
}
