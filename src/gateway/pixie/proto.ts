// Loads vizier.proto (our own definitions of Pixie's wire format) with
// protobufjs and builds the gRPC service definition both the gateway's client
// and the test's substitute Vizier use, so they share one source of truth.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const root = protobuf.parse(readFileSync(join(HERE, "vizier.proto"), "utf8"), {
  keepCase: true,
}).root;

const RequestType = root.lookupType("px.api.vizierpb.ExecuteScriptRequest");
const ResponseType = root.lookupType("px.api.vizierpb.ExecuteScriptResponse");

// 64-bit integers travel as decimal strings (exact), enums as their names.
const AS_OBJECT = { longs: String, enums: String, oneofs: true, defaults: false } as const;

export type PixieTypeName =
  "DATA_TYPE_UNKNOWN" | "BOOLEAN" | "INT64" | "UINT128" | "FLOAT64" | "STRING" | "TIME64NS";

export interface ArgValue {
  name: string;
  value: string;
}
export interface FuncToExecute {
  func_name: string;
  arg_values?: ArgValue[];
  output_table_prefix?: string;
}
export interface ExecuteScriptRequest {
  query_str: string;
  cluster_id: string;
  exec_funcs?: FuncToExecute[];
  mutation?: boolean;
  query_id?: string;
  query_name?: string;
}

/** Int64 and time64ns cells as decimal strings; uint128 as {low, high} strings. */
export interface WireColumn {
  boolean_data?: { data?: boolean[] };
  int64_data?: { data?: (string | number)[] };
  uint128_data?: { data?: { low?: string | number; high?: string | number }[] };
  time64ns_data?: { data?: (string | number)[] };
  float64_data?: { data?: number[] };
  string_data?: { data?: string[] };
}
export interface RowBatchData {
  cols?: WireColumn[];
  num_rows?: string | number;
  eow?: boolean;
  eos?: boolean;
  table_id?: string;
}
export interface ColumnInfo {
  column_name?: string;
  column_type?: PixieTypeName;
  column_desc?: string;
  column_semantic_type?: number;
}
export interface WireStatus {
  code?: number;
  message?: string;
  error_details?: {
    compiler_error?: { line?: string | number; column?: string | number; message?: string };
  }[];
}
export interface ExecuteScriptResponse {
  status?: WireStatus;
  query_id?: string;
  data?: {
    batch?: RowBatchData;
    encrypted_batch?: Uint8Array;
    execution_stats?: {
      timing?: { execution_time_ns?: string | number; compilation_time_ns?: string | number };
      bytes_processed?: string | number;
      records_processed?: string | number;
    };
  };
  meta_data?: { relation?: { columns?: ColumnInfo[] }; name?: string; id?: string };
}

const encode = (type: protobuf.Type, m: object): Buffer =>
  Buffer.from(type.encode(type.fromObject(m)).finish());
const decode = (type: protobuf.Type, b: Buffer): unknown =>
  type.toObject(type.decode(b), AS_OBJECT);

export const encodeRequest = (m: ExecuteScriptRequest) => encode(RequestType, m);
export const decodeRequest = (b: Buffer) => decode(RequestType, b) as ExecuteScriptRequest;
export const encodeResponse = (m: ExecuteScriptResponse) => encode(ResponseType, m);
export const decodeResponse = (b: Buffer) => decode(ResponseType, b) as ExecuteScriptResponse;

export const EXECUTE_SCRIPT_PATH = "/px.api.vizierpb.VizierService/ExecuteScript";

/** px.api.vizierpb.VizierService with the one method the gateway calls. */
export const VIZIER_SERVICE = {
  ExecuteScript: {
    path: EXECUTE_SCRIPT_PATH,
    requestStream: false,
    responseStream: true,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
    originalName: "executeScript",
  },
} satisfies ServiceDefinition;
