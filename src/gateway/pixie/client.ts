// The gRPC client for Pixie's ExecuteScript: one server-streaming call per
// script run, authenticated with the `pixie-api-key` metadata header, with a
// deadline. Both kinds of failure become a SourceError with an HTTP-like
// status: a gRPC status on the call (bad key → 401, unknown cluster → 404…)
// and a non-OK `status` inside the stream (a PxL compiler error → 400, with
// line and column).
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { SourceError } from "../sources/source.ts";
import { VIZIER_SERVICE, type ExecuteScriptRequest, type WireStatus } from "./proto.ts";
import { tableCollector, type ScriptResult } from "./tables.ts";

export interface VizierClientConfig {
  /** host:port of Pixie Cloud (passes through to the cluster's Vizier) or a Vizier. */
  address: string;
  apiKey: string;
  tls: boolean;
  /** PEM CA bundle to trust instead of the system's (private clouds, tests). */
  caFile: string | undefined;
  timeoutMs: number;
  maxRows: number;
}

/** gRPC (and google.rpc) codes → the status reported for the query. */
const HTTP_OF_GRPC: Record<number, number> = {
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.OUT_OF_RANGE]: 400,
  [grpc.status.UNAUTHENTICATED]: 401,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.RESOURCE_EXHAUSTED]: 429,
  [grpc.status.UNIMPLEMENTED]: 501,
  [grpc.status.UNAVAILABLE]: 503,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
};
export const httpOfGrpc = (code: number) => HTTP_OF_GRPC[code] ?? 502;

const NAME_OF_CODE = Object.fromEntries(
  Object.entries(grpc.status)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [v, k]),
) as Record<number, string>;

/** "script error (INVALID_ARGUMENT): … at line 3, column 7: name 'x' is not defined" */
export function statusText(s: WireStatus): string {
  const where = (s.error_details ?? [])
    .map((d) => d.compiler_error)
    .filter((c) => c !== undefined)
    .map(
      (c) => `line ${String(c.line ?? "?")}, column ${String(c.column ?? "?")}: ${c.message ?? ""}`,
    );
  const code = s.code ?? 0;
  return [`${NAME_OF_CODE[code] ?? `code ${code}`}: ${s.message ?? ""}`.trim(), ...where].join(
    "; ",
  );
}

export function createVizierClient(cfg: VizierClientConfig) {
  const Client = grpc.makeGenericClientConstructor(VIZIER_SERVICE, "VizierService");
  const creds = cfg.tls
    ? grpc.credentials.createSsl(cfg.caFile ? readFileSync(cfg.caFile) : null)
    : grpc.credentials.createInsecure();
  const client = new Client(cfg.address, creds);

  function execute(req: ExecuteScriptRequest): Promise<ScriptResult> {
    const md = new grpc.Metadata();
    md.set("pixie-api-key", cfg.apiKey);
    md.set("pixie-api-client", "kernel-gossip-gateway");
    const collector = tableCollector(cfg.maxRows);
    return new Promise((resolve, reject) => {
      let settled = false;
      const done = (err?: SourceError) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(collector.result);
      };
      const call = (
        client as unknown as {
          ExecuteScript: (
            r: ExecuteScriptRequest,
            m: grpc.Metadata,
            o: grpc.CallOptions,
          ) => grpc.ClientReadableStream<unknown>;
        }
      ).ExecuteScript(req, md, { deadline: Date.now() + cfg.timeoutMs });
      call.on("data", (msg: Parameters<typeof collector.add>[0]) => {
        const s = msg.status;
        if (s?.code) {
          // Pixie reports script errors inside the stream with an OK call status.
          done(new SourceError("pixie", `Pixie: ${statusText(s)}`, httpOfGrpc(s.code)));
          call.cancel();
          return;
        }
        try {
          if (!collector.add(msg)) {
            done();
            call.cancel();
          }
        } catch (err) {
          done(
            new SourceError("pixie", `Pixie sent a malformed stream: ${(err as Error).message}`),
          );
          call.cancel();
        }
      });
      call.on("error", (err: grpc.ServiceError) => {
        const msg =
          err.code === grpc.status.DEADLINE_EXCEEDED
            ? `no answer within ${cfg.timeoutMs} ms`
            : err.details || err.message;
        done(
          new SourceError(
            "pixie",
            `Pixie ExecuteScript failed (${NAME_OF_CODE[err.code] ?? err.code}): ${msg}`,
            httpOfGrpc(err.code),
          ),
        );
      });
      call.on("end", () => done());
    });
  }

  return { execute, close: () => client.close() };
}
export type VizierClient = ReturnType<typeof createVizierClient>;
