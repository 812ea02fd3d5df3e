// POST /webhooks/alertmanager — Prometheus Alertmanager's webhook receiver (version 4).
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../../server.ts";
import { webhookRoute } from "./webhook.ts";

export const alertmanagerWebhook = (app: FastifyInstance, ctx: AppContext) =>
  webhookRoute(app, ctx, "/webhooks/alertmanager", "alertmanager");
