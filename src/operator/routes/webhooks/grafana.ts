// POST /webhooks/grafana — Grafana alerting's webhook contact point.
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../../server.ts";
import { webhookRoute } from "./webhook.ts";

export const grafanaWebhook = (app: FastifyInstance, ctx: AppContext) =>
  webhookRoute(app, ctx, "/webhooks/grafana", "grafana");
