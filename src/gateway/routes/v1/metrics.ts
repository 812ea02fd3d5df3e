// POST /v1/metrics: an OTLP/HTTP metrics receiver (Pixie's px.otel export
// through a collector, or any OTLP source). Bodies are binary protobuf
// (application/x-protobuf) or OTLP JSON (application/json), optionally gzip;
// the answer is an ExportMetricsServiceResponse in the same encoding, with a
// partial success naming points not stored. Malformed bodies get 400 with a
// google.rpc.Status, also in the request's encoding. Bearer auth as every
// other route; the body cap is KG_OTLP_BODY_LIMIT_BYTES (compressed) and 8× that
// after gunzip, so a small bomb cannot inflate without bound.
import { gunzipSync } from "node:zlib";
import { Type } from "@sinclair/typebox";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import {
  PayloadError,
  decodeJson,
  decodeProtobuf,
  encodeResponse,
  encodeStatus,
  readRequest,
  type Decoded,
  type Encoding,
} from "../../otlp/decode.ts";
import type { GatewayContext } from "../../queries/context.ts";
import type { App } from "../../server.ts";
import { openIf, unauthorized } from "../security.ts";

const PROTOBUF = "application/x-protobuf";
const JSON_TYPE = "application/json";
const INVALID_ARGUMENT = 3;

const encodingOfHeader = (req: FastifyRequest): Encoding | undefined => {
  const ct = req.headers["content-type"] ?? "";
  if (ct.startsWith(PROTOBUF)) return "protobuf";
  if (ct.startsWith(JSON_TYPE)) return "json";
  return undefined;
};
const encodingOf = (req: FastifyRequest): Encoding => encodingOfHeader(req) ?? "json";

const StatusSchema = Type.Object(
  { code: Type.Integer(), message: Type.String() },
  { title: "google.rpc.Status", additionalProperties: true },
);
const ResponseSchema = Type.Object(
  {
    partialSuccess: Type.Optional(
      Type.Object(
        {
          rejectedDataPoints: Type.Optional(Type.String({ pattern: "^\\d+$" })),
          errorMessage: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { title: "ExportMetricsServiceResponse", additionalProperties: false },
);
const binary = { type: "string", format: "binary" } as const;
const both = (json: object, description: string) => ({
  description,
  content: { [JSON_TYPE]: { schema: json }, [PROTOBUF]: { schema: binary } },
});

export default function otlpMetrics(app: App, ctx: GatewayContext) {
  const limit = ctx.config.otlp.bodyLimit;
  app.register((scoped, _opts, done) => {
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser(
      [JSON_TYPE, PROTOBUF],
      { parseAs: "buffer", bodyLimit: limit },
      (req, raw: Buffer, next) => {
        try {
          const enc = req.headers["content-encoding"];
          let body = raw;
          if (enc === "gzip") {
            try {
              body = gunzipSync(raw, { maxOutputLength: limit * 8 });
            } catch (err) {
              const big = (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
              throw Object.assign(
                new PayloadError(
                  big ? `body inflates past ${limit * 8} bytes` : "body is not valid gzip",
                ),
                { statusCode: big ? 413 : 400 },
              );
            }
          } else if (enc && enc !== "identity") {
            throw Object.assign(
              new PayloadError(`Content-Encoding ${enc} is not supported (gzip is)`),
              {
                statusCode: 415,
              },
            );
          }
          const decoded = encodingOf(req) === "protobuf" ? decodeProtobuf(body) : decodeJson(body);
          next(null, readRequest(decoded));
        } catch (err) {
          next(
            err instanceof PayloadError && !("statusCode" in err)
              ? Object.assign(err, { statusCode: 400 })
              : (err as Error),
            undefined,
          );
        }
      },
    );
    // OTLP wants errors as a Status in the request's encoding.
    scoped.setErrorHandler((err: FastifyError, req, reply: FastifyReply) => {
      const status =
        err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status >= 500) req.log.error(err);
      const enc = encodingOf(req);
      const message = status >= 500 ? "internal error" : err.message;
      return reply
        .code(status)
        .header("content-type", enc === "protobuf" ? PROTOBUF : JSON_TYPE)
        .send(encodeStatus(enc, INVALID_ARGUMENT, message));
    });
    scoped.post(
      "/v1/metrics",
      {
        // The parser above decodes and checks the body; schemas here document it.
        validatorCompiler: () => () => true,
        serializerCompiler: () => (data) =>
          typeof data === "string" ? data : JSON.stringify(data),
        schema: {
          summary: "OTLP/HTTP metrics receiver (protobuf or JSON, gzip accepted)",
          description:
            "Gauge and Sum points are stored per series (k8s.* resource attributes become namespace/pod/container/node labels) and merge into signal queries where the Pixie manifest ties a metric to a signal. Histogram and summary points are rejected with a partial success.",
          ...openIf(ctx, "/v1/metrics"),
          body: {
            content: {
              [JSON_TYPE]: {
                schema: {
                  type: "object",
                  title: "ExportMetricsServiceRequest",
                  // proto3 JSON: null stands for an empty repeated field.
                  properties: {
                    resourceMetrics: { type: ["array", "null"], items: { type: "object" } },
                  },
                },
              },
              [PROTOBUF]: { schema: binary },
            },
          },
          response: {
            200: both(ResponseSchema, "Stored; partialSuccess names rejected points."),
            400: both(StatusSchema, "Malformed payload."),
            413: both(StatusSchema, "Body (or inflated body) too large."),
            415: both(StatusSchema, "Content type or encoding not supported."),
            ...unauthorized,
          },
          // Per-content-type bodies and responses are valid fastify/OpenAPI but outside
          // the TypeBox provider's route types.
        } as never,
      },
      async (req, reply) => {
        const decoded = req.body as Decoded | undefined;
        if (!decoded) {
          // No body parser ran: no (or an empty) body. Empty is a valid empty request.
          if (encodingOfHeader(req) === undefined) {
            return reply
              .code(415)
              .header("content-type", JSON_TYPE)
              .send(
                encodeStatus(
                  "json",
                  INVALID_ARGUMENT,
                  "Content-Type must be application/x-protobuf or application/json",
                ),
              );
          }
          return reply
            .code(200)
            .header("content-type", encodingOf(req) === "protobuf" ? PROTOBUF : JSON_TYPE)
            .send(encodeResponse(encodingOf(req), 0, ""));
        }
        const stored = ctx.sources.otlp.ingest(decoded.points);
        const rejected = decoded.rejected + stored.rejected;
        const reasons = [...decoded.reasons, ...stored.reasons];
        ctx.telemetry.otlpPoints.inc({ outcome: "stored" }, stored.accepted);
        if (rejected) ctx.telemetry.otlpPoints.inc({ outcome: "rejected" }, rejected);
        const enc = encodingOf(req);
        return reply
          .code(200)
          .header("content-type", enc === "protobuf" ? PROTOBUF : JSON_TYPE)
          .send(encodeResponse(enc, rejected, reasons.join("; ")));
      },
    );
    done();
  });
}
