// Test support (not a test file): a SUBSTITUTE for Pixie's Vizier, because
// Pixie cannot run on these machines. A real gRPC server (grpc-js) serving
// px.api.vizierpb.VizierService/ExecuteScript from our own vizier.proto. It
// checks the `pixie-api-key` header and the cluster id, records every request,
// and streams the tables a test gives it the way Pixie's documented format
// does: one meta_data (relation) per table before its data, row batches of
// typed columns split into several messages, eow/eos on each table's last
// batch, then execution stats. It does not run PxL: it proves what the gateway
// sends and how it decodes, not what Pixie's engine would compute.
import * as grpc from "@grpc/grpc-js";
import {
  VIZIER_SERVICE,
  type ExecuteScriptRequest,
  type ExecuteScriptResponse,
  type WireColumn,
  type PixieTypeName,
  type WireStatus,
} from "../../../src/gateway/pixie/proto.ts";

export interface SubstituteColumn {
  name: string;
  type: Exclude<PixieTypeName, "DATA_TYPE_UNKNOWN">;
  semantic?: number;
}
/** Cells as the wire carries them: int64/time64ns as decimal strings, uint128 as {high, low}. */
export type SubstituteCell = string | number | boolean | { high: string; low: string };
export interface SubstituteTable {
  name: string;
  columns: SubstituteColumn[];
  rows: SubstituteCell[][];
}

export interface SubstituteAnswer {
  tables?: SubstituteTable[];
  /** A non-OK status inside the stream, as Pixie reports script errors. */
  status?: WireStatus;
}

export interface SubstituteVizier {
  address: string;
  requests: { request: ExecuteScriptRequest; apiKey: string | undefined }[];
  close(): Promise<void>;
}

function wireColumn(c: SubstituteColumn, cells: SubstituteCell[]): WireColumn {
  switch (c.type) {
    case "BOOLEAN":
      return { boolean_data: { data: cells as boolean[] } };
    case "INT64":
      return { int64_data: { data: cells as string[] } };
    case "TIME64NS":
      return { time64ns_data: { data: cells as string[] } };
    case "FLOAT64":
      return { float64_data: { data: cells as number[] } };
    case "STRING":
      return { string_data: { data: cells as string[] } };
    case "UINT128":
      return { uint128_data: { data: cells as { high: string; low: string }[] } };
  }
}

/** The response messages for tables, `batchRows` rows per batch. */
export function streamOf(
  queryId: string,
  tables: SubstituteTable[],
  batchRows: number,
): ExecuteScriptResponse[] {
  const out: ExecuteScriptResponse[] = [];
  tables.forEach((t, i) => {
    out.push({
      query_id: queryId,
      meta_data: {
        id: `table-${i}`,
        name: t.name,
        relation: {
          columns: t.columns.map((c) => ({
            column_name: c.name,
            column_type: c.type,
            column_semantic_type: c.semantic ?? 1,
          })),
        },
      },
    });
  });
  tables.forEach((t, i) => {
    const n = Math.max(1, Math.ceil(t.rows.length / batchRows));
    for (let b = 0; b < n; b++) {
      const rows = t.rows.slice(b * batchRows, (b + 1) * batchRows);
      const last = b === n - 1;
      out.push({
        query_id: queryId,
        data: {
          batch: {
            table_id: `table-${i}`,
            num_rows: rows.length,
            eow: last,
            eos: last,
            cols: t.columns.map((c, ci) =>
              wireColumn(
                c,
                rows.map((r) => r[ci] as SubstituteCell),
              ),
            ),
          },
        },
      });
    }
  });
  out.push({
    query_id: queryId,
    data: {
      execution_stats: {
        timing: { execution_time_ns: "1500000", compilation_time_ns: "500000" },
        bytes_processed: "4096",
        records_processed: "12",
      },
    },
  });
  return out;
}

export async function startSubstituteVizier(opts: {
  apiKey: string;
  clusterId: string;
  /** Answers by request; undefined answers NOT_FOUND for an unknown function. */
  answer: (req: ExecuteScriptRequest) => SubstituteAnswer | undefined;
  tls?: { cert: Buffer; key: Buffer };
  batchRows?: number;
}): Promise<SubstituteVizier> {
  const server = new grpc.Server();
  const requests: SubstituteVizier["requests"] = [];
  let n = 0;
  server.addService(VIZIER_SERVICE, {
    ExecuteScript: (
      call: grpc.ServerWritableStream<ExecuteScriptRequest, ExecuteScriptResponse>,
    ) => {
      const apiKey = call.metadata.get("pixie-api-key")[0]?.toString();
      requests.push({ request: call.request, apiKey });
      const fail = (code: grpc.status, details: string) => call.emit("error", { code, details });
      if (apiKey !== opts.apiKey) return fail(grpc.status.UNAUTHENTICATED, "invalid API key");
      if (call.request.cluster_id !== opts.clusterId) {
        return fail(grpc.status.NOT_FOUND, `cluster ${call.request.cluster_id} not found`);
      }
      const a = opts.answer(call.request);
      if (!a) return fail(grpc.status.NOT_FOUND, "no such function");
      const queryId = `substitute-query-${++n}`;
      if (a.status) {
        call.write({ query_id: queryId, status: a.status });
        call.end();
        return;
      }
      for (const m of streamOf(queryId, a.tables ?? [], opts.batchRows ?? 2)) call.write(m);
      call.end();
    },
  });
  const creds = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [
        { cert_chain: opts.tls.cert, private_key: opts.tls.key },
      ])
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
