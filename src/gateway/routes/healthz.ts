// GET /healthz: the process answers. Liveness only; sources are /readyz's job.
import { Type } from "@sinclair/typebox";
import type { GatewayContext } from "../queries/context.ts";
import type { App } from "../server.ts";
import { openIf, unauthorized } from "./security.ts";

export default function healthz(app: App, ctx: GatewayContext) {
  app.get(
    "/healthz",
    {
      schema: {
        summary: "Liveness",
        ...openIf(ctx, "/healthz"),
        response: {
          200: Type.Object({ status: Type.Literal("ok") }, { additionalProperties: false }),
          ...unauthorized,
        },
      },
    },
    () => ({ status: "ok" as const }),
  );
}
