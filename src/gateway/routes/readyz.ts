// GET /readyz: each source's state. Ready (200) once both informer caches have
// synced: a degraded cache still answers from memory, and a down signal source
// fails only its own queries, so neither takes the gateway out of service.
import { Type } from "@sinclair/typebox";
import { allSources, type GatewayContext } from "../queries/context.ts";
import type { App } from "../server.ts";
import { openIf, unauthorized } from "./security.ts";

const Status = Type.Object(
  {
    name: Type.String(),
    state: Type.Union(["ready", "starting", "degraded", "disabled"].map((s) => Type.Literal(s))),
    message: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const Body = Type.Object(
  { ready: Type.Boolean(), sources: Type.Array(Status) },
  { additionalProperties: false },
);

export default function readyz(app: App, ctx: GatewayContext) {
  app.get(
    "/readyz",
    {
      schema: {
        summary: "Readiness and the state of every source",
        ...openIf(ctx, "/readyz"),
        response: { 200: Body, 503: Body, ...unauthorized },
      },
    },
    async (_req, reply) => {
      const sources = allSources(ctx.sources).map((s) => s.status());
      const cachesUp = [ctx.sources.whispers, ctx.sources.births].every((s) =>
        ["ready", "degraded"].includes(s.status().state),
      );
      return reply.code(cachesUp ? 200 : 503).send({ ready: cachesUp, sources });
    },
  );
}
