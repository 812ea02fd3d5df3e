// GET /openapi.json: the OpenAPI 3.1 document generated from the route schemas.
import { Type } from "@sinclair/typebox";
import type { GatewayContext } from "../queries/context.ts";
import type { App } from "../server.ts";
import { openIf, unauthorized } from "./security.ts";

export default function openapi(app: App, ctx: GatewayContext) {
  app.get(
    "/openapi.json",
    {
      schema: {
        summary: "This API's OpenAPI document",
        ...openIf(ctx, "/openapi.json"),
        response: { 200: Type.Object({}, { additionalProperties: true }), ...unauthorized },
      },
    },
    () => app.swagger() as unknown as Record<string, unknown>,
  );
}
