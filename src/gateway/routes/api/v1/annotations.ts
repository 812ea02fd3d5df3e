// GET /api/v1/annotations: whispers as time-range annotations (firstSeen to
// lastSeen) with a readable text and tags for Grafana's annotation queries.
import { Type } from "@sinclair/typebox";
import type { GatewayContext } from "../../../queries/context.ts";
import { selectWhispers, whisperText } from "../../../queries/whispers.ts";
import { ErrorSchema, FiltersSchema } from "../../../schemas.ts";
import type { App } from "../../../server.ts";
import { headersTooLarge, openIf, unauthorized } from "../../security.ts";

const Query = Type.Composite(
  [
    Type.Object({
      from: Type.Integer({ minimum: 0, description: "Unix ms." }),
      to: Type.Integer({ minimum: 0, description: "Unix ms." }),
    }),
    FiltersSchema,
  ],
  { additionalProperties: false },
);

const Annotation = Type.Object(
  {
    id: Type.String(),
    time: Type.Integer({ description: "firstSeen, unix ms." }),
    timeEnd: Type.Integer({ description: "lastSeen, unix ms." }),
    title: Type.String(),
    text: Type.String(),
    tags: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export default function annotations(app: App, ctx: GatewayContext) {
  app.get(
    "/api/v1/annotations",
    {
      schema: {
        summary: "KernelWhispers as time-range annotations",
        ...openIf(ctx, "/api/v1/annotations"),
        querystring: Query,
        response: {
          200: Type.Object(
            { annotations: Type.Array(Annotation) },
            { additionalProperties: false },
          ),
          400: ErrorSchema,
          ...unauthorized,
          ...headersTooLarge,
        },
      },
    },
    async (req, reply) => {
      const { from, to, ...filters } = req.query;
      if (to < from) {
        return reply
          .code(400)
          .send({ statusCode: 400, error: "Bad Request", message: "to: before from", field: "to" });
      }
      if (to - from > ctx.config.limits.maxRangeMs) {
        return reply.code(400).send({
          statusCode: 400,
          error: "Bad Request",
          message: "to: range too long",
          field: "to",
        });
      }
      const { rows } = selectWhispers(ctx.sources.whispers.list(), {
        fromMs: from,
        toMs: to,
        filters,
        maxRows: ctx.config.limits.maxRows,
      });
      return {
        annotations: rows.map((w) => {
          const s = w.spec.subject;
          const tags = [`signal:${w.spec.signal}`, `severity:${w.spec.severity}`];
          if (s.namespace) tags.push(`namespace:${s.namespace}`);
          if (s.pod) tags.push(`pod:${s.pod}`);
          if (s.node) tags.push(`node:${s.node}`);
          return {
            id: w.metadata.uid ?? `${w.metadata.namespace ?? ""}/${w.metadata.name ?? ""}`,
            time: Date.parse(w.spec.firstSeen),
            timeEnd: Date.parse(w.spec.lastSeen),
            title: `${w.spec.severity}: ${w.spec.signal}`,
            text: whisperText(w),
            tags,
          };
        }),
      };
    },
  );
}
