// Builds the gateway's fastify app: ajv settings that reject unknown fields,
// 400s that name the offending field, bearer auth, request metrics, the
// OpenAPI document, and the routes (one module per URL under routes/).
import cors from "@fastify/cors";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { bearerAuth } from "./auth.ts";
import type { GatewayContext } from "./queries/context.ts";
import annotations from "./routes/api/v1/annotations.ts";
import query from "./routes/api/v1/query.ts";
import stream from "./routes/api/v1/stream.ts";
import variables from "./routes/api/v1/variables.ts";
import healthz from "./routes/healthz.ts";
import metrics from "./routes/metrics.ts";
import openapi from "./routes/openapi.ts";
import readyz from "./routes/readyz.ts";
import otlpMetrics from "./routes/v1/metrics.ts";

export type App = ReturnType<typeof createApp>;

function createApp(ctx: GatewayContext) {
  return Fastify({
    logger: ctx.config.logLevel === "silent" ? false : { level: ctx.config.logLevel },
    bodyLimit: ctx.config.limits.bodyLimit,
    ajv: {
      customOptions: {
        removeAdditional: false, // unknown fields are errors, not silently dropped
        discriminator: true,
        coerceTypes: "array", // ?namespace=a&namespace=b and ?namespace=a both give arrays
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** "/queries/0/range" + the ajv error → "queries[0].range.foo" */
export function fieldOf(e: AjvError, context: string | undefined): string {
  let path = e.instancePath
    .split("/")
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join("")
    .replace(/^\./, "");
  const extra = e.params.additionalProperty ?? e.params.missingProperty ?? e.params.tag;
  if (typeof extra === "string") path = path ? `${path}.${extra}` : extra;
  if (context && context !== "body") path = path ? `${context}.${path}` : context;
  return path || (context ?? "body");
}

function describe(e: AjvError): string {
  if (e.keyword === "additionalProperties") return "unknown field";
  if (e.keyword === "discriminator") {
    return e.params.error === "mapping" ? "unknown query type" : (e.message ?? "invalid");
  }
  if (e.keyword === "enum" && Array.isArray(e.params.allowedValues)) {
    return `must be one of ${e.params.allowedValues.join(", ")}`;
  }
  return e.message ?? "invalid";
}

export async function buildGateway(ctx: GatewayContext): Promise<FastifyInstance> {
  const app = createApp(ctx);
  const { config, telemetry } = ctx;

  app.setErrorHandler((err: FastifyError & { validation?: AjvError[] }, req, reply) => {
    const first = err.validation?.[0];
    if (first) {
      const field = fieldOf(first, err.validationContext);
      return reply.code(400).send({
        statusCode: 400,
        error: "Bad Request",
        message: `${field}: ${describe(first)}`,
        field,
      });
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error(err);
    return reply.code(status).send({
      statusCode: status,
      error: status >= 500 ? "Internal Server Error" : "Bad Request",
      message: status >= 500 ? "internal error" : err.message,
    });
  });

  // 405 (with Allow) for a known path under another method, 404 otherwise.
  const known: { re: RegExp; methods: string[] }[] = [];
  app.addHook("onRoute", (r) => {
    const re = new RegExp(`^${r.url.replace(/:[^/]+/g, "[^/]+")}$`);
    known.push({ re, methods: [r.method].flat() });
  });
  // In onRequest, before fastify parses (and may reject) the body of an unknown method.
  // Registered before the auth hook: a wrong method is a 405 with or without a token.
  app.addHook("onRequest", async (req, reply) => {
    if (!req.is404) return;
    const path = req.url.split("?")[0] ?? "";
    const allow = [...new Set(known.filter((k) => k.re.test(path)).flatMap((k) => k.methods))];
    if (allow.length) {
      await reply
        .code(405)
        .header("allow", allow.join(", "))
        .send({ statusCode: 405, error: "Method Not Allowed", message: `use ${allow.join(", ")}` });
      return;
    }
    await reply
      .code(404)
      .send({ statusCode: 404, error: "Not Found", message: `no route ${path}` });
  });

  if (config.corsOrigins.length) await app.register(cors, { origin: config.corsOrigins });
  app.addHook("onRequest", bearerAuth(config.tokens, config.openPaths));
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    const labels = { route, method: req.method };
    telemetry.requests.inc({ ...labels, status: String(reply.statusCode) });
    telemetry.latency.observe(labels, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "kernel-gossip gateway",
        version: "0.1.0",
        description:
          "One query API over observer kernel signals, KernelWhispers, PodBirthCertificates and Pixie (PxL through ExecuteScript, OTLP pushed to /v1/metrics), answering Grafana data frames.",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });

  for (const register of [
    healthz,
    readyz,
    metrics,
    openapi,
    query,
    variables,
    annotations,
    stream,
    otlpMetrics,
  ]) {
    register(app, ctx);
  }
  await app.ready();
  return app;
}
