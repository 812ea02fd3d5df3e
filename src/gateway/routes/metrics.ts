// GET /metrics: the gateway's own metrics in Prometheus text format.
import { Type } from "@sinclair/typebox";
import type { GatewayContext } from "../queries/context.ts";
import type { App } from "../server.ts";
import { openIf, unauthorized } from "./security.ts";

export default function metrics(app: App, ctx: GatewayContext) {
  app.get(
    "/metrics",
    {
      schema: {
        summary: "Gateway metrics (Prometheus text format)",
        ...openIf(ctx, "/metrics"),
        response: {
          200: {
            description: "Prometheus exposition text.",
            content: { "text/plain": { schema: Type.String() } },
          },
          ...unauthorized,
        },
      },
    },
    async (_req, reply) => {
      const { registry } = ctx.telemetry;
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );
}
