// GET /healthz (the process serves), /readyz (leader and writing), /metrics.
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../server.ts";

export function healthRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get("/healthz", () => ({ ok: true }));
  app.get("/readyz", async (_req, reply) => {
    const r = ctx.readiness();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get("/metrics", async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
