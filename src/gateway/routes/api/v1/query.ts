// POST /api/v1/query: a batch of typed queries → data frames by refId.
import type { GatewayContext } from "../../../queries/context.ts";
import { checkLimits, runQueries } from "../../../queries/run.ts";
import { ErrorSchema, QueryRequestSchema, QueryResponseSchema } from "../../../schemas.ts";
import type { App } from "../../../server.ts";
import { openIf, unauthorized } from "../../security.ts";

export default function query(app: App, ctx: GatewayContext) {
  app.post(
    "/api/v1/query",
    {
      // Frames hold arrays of mixed cells; fast-json-stringify would check every
      // cell against the cell union with ajv, which dominates large answers.
      // JSON.stringify is exact here: tests validate answers against the schema.
      serializerCompiler: () => (data) => JSON.stringify(data),
      schema: {
        summary: "Run a batch of queries",
        description:
          "Each query answers independently: a failing source sets that result's status and error, the rest of the batch still answers.",
        ...openIf(ctx, "/api/v1/query"),
        body: QueryRequestSchema,
        response: { 200: QueryResponseSchema, 400: ErrorSchema, ...unauthorized },
      },
    },
    async (req, reply) => {
      const bad = checkLimits(req.body.queries, ctx.config.limits);
      if (bad) {
        return reply.code(400).send({
          statusCode: 400,
          error: "Bad Request",
          message: `${bad.field}: ${bad.message}`,
          field: bad.field,
        });
      }
      return { results: await runQueries(ctx, req.body.queries) };
    },
  );
}
