// POST /webhooks/pixie — findings from Pixie's numbers, forwarded by the
// gateway (ADR 0027) in the alert-webhook shape; whispers get source "pixie".
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../../server.ts";
import { webhookRoute } from "./webhook.ts";

export const pixieWebhook = (app: FastifyInstance, ctx: AppContext) =>
  webhookRoute(app, ctx, "/webhooks/pixie", "pixie");
