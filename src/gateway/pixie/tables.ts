// Turns the ExecuteScript response stream into tables: meta_data announces
// each table (its relation: column names, types, semantic types) before any
// of its row batches; data batches append typed columns; eos closes a table.
// Anything that contradicts the relation is an error, not a guess.
import type { ExecuteScriptResponse, PixieTypeName, WireColumn } from "./proto.ts";

export type Cell = number | string | boolean | null;

export interface PixieColumn {
  name: string;
  type: PixieTypeName;
  /** px.api.vizierpb.SemanticType value (e.g. 800 bytes, 901 duration ns, 200 upid). */
  semantic: number;
}

export interface PixieTable {
  id: string;
  name: string;
  columns: PixieColumn[];
  /** One array per column; times in Unix milliseconds. */
  values: Cell[][];
  rows: number;
  /** The stream marked this table's end (eos). */
  complete: boolean;
}

export interface ScriptResult {
  queryId: string;
  tables: PixieTable[];
  /** Rows dropped past the row limit (the stream was cancelled there). */
  truncatedRows: number;
  stats?: { executionNs: number; compilationNs: number; bytes: number; records: number };
}

export const SEMANTIC = { UPID: 200, BYTES: 800, PERCENT: 900, DURATION_NS: 901 } as const;

/** Pixie's UPID text form: asid:pid:start-time-ticks (high 32 bits, low 32, low 64). */
function upid(high: bigint, low: bigint): string {
  return `${high >> 32n}:${high & 0xffffffffn}:${low}`;
}

const u128Hex = (high: bigint, low: bigint) => ((high << 64n) | low).toString(16).padStart(32, "0");

/** Cells of one wire column, checked against the relation's type. */
function cells(col: WireColumn, c: PixieColumn): Cell[] {
  const wrong = (got: string) =>
    new Error(`column ${c.name}: relation says ${c.type}, batch carries ${got}`);
  if (col.boolean_data) {
    if (c.type !== "BOOLEAN") throw wrong("boolean");
    return col.boolean_data.data ?? [];
  }
  if (col.int64_data) {
    if (c.type !== "INT64") throw wrong("int64");
    return (col.int64_data.data ?? []).map(Number);
  }
  if (col.time64ns_data) {
    if (c.type !== "TIME64NS") throw wrong("time64ns");
    // ns → ms, exact to the microsecond the float can hold at today's epoch.
    return (col.time64ns_data.data ?? []).map((v) => {
      const ns = BigInt(v);
      return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
    });
  }
  if (col.float64_data) {
    if (c.type !== "FLOAT64") throw wrong("float64");
    return (col.float64_data.data ?? []).map((v) => (Number.isFinite(v) ? v : null));
  }
  if (col.string_data) {
    if (c.type !== "STRING") throw wrong("string");
    return col.string_data.data ?? [];
  }
  if (col.uint128_data) {
    if (c.type !== "UINT128") throw wrong("uint128");
    return (col.uint128_data.data ?? []).map((v) => {
      const high = BigInt(v.high ?? 0);
      const low = BigInt(v.low ?? 0);
      return c.semantic === SEMANTIC.UPID ? upid(high, low) : u128Hex(high, low);
    });
  }
  throw wrong("no data");
}

/** Accumulates one ExecuteScript stream; add() throws on a protocol violation. */
export function tableCollector(maxRows: number) {
  const byId = new Map<string, PixieTable>();
  const order: PixieTable[] = [];
  const result: ScriptResult = { queryId: "", tables: order, truncatedRows: 0 };
  let total = 0;
  return {
    result,
    /** Returns false once the row limit is reached (the caller cancels the stream). */
    add(msg: ExecuteScriptResponse): boolean {
      if (msg.query_id) result.queryId = msg.query_id;
      const meta = msg.meta_data;
      if (meta) {
        const id = meta.id ?? "";
        if (byId.has(id)) throw new Error(`table ${id} announced twice`);
        const t: PixieTable = {
          id,
          name: meta.name ?? id,
          columns: (meta.relation?.columns ?? []).map((c) => ({
            name: c.column_name ?? "",
            type: c.column_type ?? "DATA_TYPE_UNKNOWN",
            semantic: c.column_semantic_type ?? 0,
          })),
          values: [],
          rows: 0,
          complete: false,
        };
        t.values = t.columns.map(() => []);
        byId.set(id, t);
        order.push(t);
        return true;
      }
      const data = msg.data;
      if (data?.encrypted_batch?.length) {
        throw new Error("received an encrypted batch, but the gateway asks for none");
      }
      const s = data?.execution_stats;
      if (s) {
        result.stats = {
          executionNs: Number(s.timing?.execution_time_ns ?? 0),
          compilationNs: Number(s.timing?.compilation_time_ns ?? 0),
          bytes: Number(s.bytes_processed ?? 0),
          records: Number(s.records_processed ?? 0),
        };
      }
      const b = data?.batch;
      if (!b) return true;
      const t = byId.get(b.table_id ?? "");
      if (!t) throw new Error(`row batch for table ${b.table_id ?? ""} before its meta_data`);
      if (t.complete) throw new Error(`row batch for table ${t.name} after its eos`);
      const n = Number(b.num_rows ?? 0);
      const cols = b.cols ?? [];
      if (n > 0 || cols.length > 0) {
        if (cols.length !== t.columns.length) {
          throw new Error(
            `table ${t.name}: batch has ${cols.length} columns, relation ${t.columns.length}`,
          );
        }
        const keep = Math.max(0, Math.min(n, maxRows - total));
        cols.forEach((col, i) => {
          const c = t.columns[i];
          if (!c) return;
          const v = cells(col, c);
          if (v.length !== n)
            throw new Error(`table ${t.name}: column ${c.name} has ${v.length} rows, batch ${n}`);
          t.values[i]?.push(...v.slice(0, keep));
        });
        t.rows += keep;
        total += keep;
        result.truncatedRows += n - keep;
      }
      if (b.eos) t.complete = true;
      return total < maxRows;
    },
  };
}
