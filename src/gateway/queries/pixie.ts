// pixie: a script's tables as data frames. A shipped script whose manifest
// names label columns answers like a signal query — one frame per (labels,
// value column), time field with the step as interval — so Pixie's numbers sit
// in the same panels as the kernel's. format "table" (and every user script)
// answers one table frame per Pixie table, typed from its relation.
import type { ColumnDef, ScriptDef } from "../../pixie/manifest.ts";
import { accepts } from "../filters.ts";
import { field, frame, type Field, type FieldType, type Frame, type FrameMeta } from "../frames.ts";
import {
  SEMANTIC,
  type Cell,
  type PixieColumn,
  type PixieTable,
  type ScriptResult,
} from "../pixie/tables.ts";
import type { QueryFilters } from "../schemas.ts";

const FIELD_TYPE: Record<string, FieldType> = {
  TIME64NS: "time",
  INT64: "number",
  FLOAT64: "number",
  BOOLEAN: "boolean",
  STRING: "string",
  UINT128: "string",
};

function unitOf(c: PixieColumn, declared: ColumnDef | undefined): string | undefined {
  if (declared?.unit) return declared.unit;
  if (c.semantic === SEMANTIC.BYTES) return "bytes";
  if (c.semantic === SEMANTIC.DURATION_NS) return "ns";
  if (c.semantic === SEMANTIC.PERCENT) return "percentunit";
  return undefined;
}

/** Differences between what the manifest promises and the relation Pixie sent. */
function relationNotices(t: PixieTable, def: ScriptDef | undefined): string[] {
  if (!def) return [];
  const got = t.columns.map((c) => `${c.name}:${c.type}`).join(", ");
  const want = def.columns.map((c) => `${c.name}:${c.type}`).join(", ");
  return got === want
    ? []
    : [`table ${t.name}: Pixie sent (${got}), the manifest declares (${want})`];
}

/** Row indexes the namespace/pod filters accept (on columns the table has). */
function selectedRows(t: PixieTable, f: QueryFilters | undefined): number[] {
  const col = (n: string) => t.values[t.columns.findIndex((c) => c.name === n)];
  const checks = (["namespace", "pod"] as const)
    .map((k) => ({ want: f?.[k], cells: col(k) }))
    .filter((c) => c.want?.length && c.cells);
  const rows: number[] = [];
  for (let i = 0; i < t.rows; i++) {
    if (checks.every((c) => accepts(c.want, String(c.cells?.[i] ?? "")))) rows.push(i);
  }
  return rows;
}

function baseMeta(result: ScriptResult, what: string, notices: string[]): FrameMeta {
  const all = [...notices];
  if (result.truncatedRows > 0) {
    all.push(`${result.truncatedRows} rows past KG_PIXIE_MAX_ROWS were not read`);
  }
  const meta: FrameMeta = {
    executedQueryString: what,
    custom: { pixieQueryId: result.queryId, ...(result.stats ? { stats: result.stats } : {}) },
  };
  if (all.length) meta.notices = all.map((text) => ({ severity: "warning" as const, text }));
  return meta;
}

function tableFrame(
  refId: string,
  t: PixieTable,
  rows: number[],
  def: ScriptDef | undefined,
  meta: FrameMeta,
): Frame {
  const fields: Field[] = t.columns.map((c, i) => {
    const declared = def?.columns.find((d) => d.name === c.name);
    const unit = unitOf(c, declared);
    return field(
      c.name,
      FIELD_TYPE[c.type] ?? "other",
      rows.map((r) => t.values[i]?.[r] ?? null),
      unit ? { unit } : {},
    );
  });
  return frame(refId, fields, {
    name: t.name,
    meta: { ...meta, preferredVisualisationType: "table" },
  });
}

function seriesFrames(
  refId: string,
  t: PixieTable,
  rows: number[],
  def: ScriptDef,
  stepMs: number,
  meta: FrameMeta,
): Frame[] {
  const idx = (n: string) => t.columns.findIndex((c) => c.name === n);
  const timeAt = idx("time_");
  const labelAt = def.labels.map((l) => ({ l, i: idx(l) }));
  const values = t.columns
    .map((c, i) => ({ c, i }))
    .filter(
      ({ c }) => (c.type === "FLOAT64" || c.type === "INT64") && !def.labels.includes(c.name),
    );
  const groups = new Map<string, { labels: Record<string, string>; rows: number[] }>();
  for (const r of rows) {
    const labels: Record<string, string> = {};
    for (const { l, i } of labelAt) labels[l] = String(t.values[i]?.[r] ?? "");
    const key = JSON.stringify(labels);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { labels, rows: [] }));
    g.rows.push(r);
  }
  const time = (r: number) => Number(t.values[timeAt]?.[r] ?? 0);
  const out: Frame[] = [];
  for (const g of [...groups.values()].sort((a, b) =>
    JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)),
  )) {
    const sorted = [...g.rows].sort((a, b) => time(a) - time(b));
    const who = def.labels
      .map((l) => g.labels[l])
      .filter(Boolean)
      .join("/");
    for (const { c, i } of values) {
      const declared = def.columns.find((d) => d.name === c.name);
      const unit = unitOf(c, declared);
      const v = field(
        c.name,
        "number",
        sorted.map((r): Cell => t.values[i]?.[r] ?? null),
        {
          labels: { ...g.labels, source: "pixie" },
          ...(unit ? { unit } : {}),
        },
      );
      v.config.displayNameFromDS = `${who} ${c.name}`.trim();
      out.push(
        frame(refId, [field("time", "time", sorted.map(time), { interval: stepMs }), v], {
          name: `${who} ${c.name}`.trim(),
          meta: { ...meta, type: "timeseries-multi", preferredVisualisationType: "graph" },
        }),
      );
    }
  }
  return out;
}

export function pixieFrames(
  refId: string,
  result: ScriptResult,
  opts: {
    def: ScriptDef | undefined;
    format: "series" | "table";
    stepMs: number;
    filters: QueryFilters | undefined;
  },
): Frame[] {
  const what = opts.def ? `pixie script ${opts.def.name} (${opts.def.file})` : "user PxL script";
  return result.tables.flatMap((t) => {
    const rows = selectedRows(t, opts.filters);
    const notices = relationNotices(t, opts.def);
    if (!t.complete)
      notices.push(`table ${t.name}: the stream ended before its eos; rows may be missing`);
    const meta = baseMeta(result, what, notices);
    const series =
      opts.format === "series" &&
      opts.def &&
      opts.def.labels.length > 0 &&
      t.columns.some((c) => c.name === "time_" && c.type === "TIME64NS");
    return series && opts.def
      ? seriesFrames(refId, t, rows, opts.def, opts.stepMs, meta)
      : [tableFrame(refId, t, rows, opts.def, meta)];
  });
}
