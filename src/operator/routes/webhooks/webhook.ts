// What the webhook routes (grafana, alertmanager, pixie) share: credentials, raw-body signature check,
// schema and label validation (400 naming the field), 503 + Retry-After whenever the operator cannot
// take the work (standby, no room for unwritten evidence), and ingest (ADR 0006, 0075).
import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { WhisperSource } from "../../../shared/model/kernel-whisper.ts";
import { checkAuthorization, checkSignature } from "../../alerts/auth.ts";
import { Refused, ingestWebhook } from "../../alerts/ingest.ts";
import { ErrorSchema, WebhookBodySchema, WebhookReplySchema } from "../../alerts/schema.ts";
import type { AppContext } from "../../server.ts";

export function webhookRoute(
  app: FastifyInstance,
  ctx: AppContext,
  path: string,
  source: Extract<WhisperSource, "grafana" | "alertmanager" | "pixie">,
): void {
  const auth = ctx.cfg.webhooks.auth;
  app.register((scoped, _opts, done) => {
    // Keep the raw body: Grafana signs exactly those bytes.
    scoped.addContentTypeParser(
      "application/json",
      { parseAs: "string", bodyLimit: ctx.cfg.webhooks.bodyLimitBytes },
      (req, raw, next) => {
        const text = typeof raw === "string" ? raw : raw.toString("utf8");
        const bad =
          source === "grafana" ? checkSignature(auth, text, req.headers, new Date()) : undefined;
        if (bad) {
          next(Object.assign(new Error(bad), { statusCode: 401 }), undefined);
          return;
        }
        try {
          next(null, JSON.parse(text));
        } catch (err) {
          next(
            Object.assign(new Error(`body is not valid JSON: ${(err as Error).message}`), {
              statusCode: 400,
            }),
            undefined,
          );
        }
      },
    );
    scoped.addHook("onRequest", async (req, reply) => {
      const bad = checkAuthorization(auth, req.headers.authorization);
      if (bad) {
        ctx.metrics.webhooks.inc({ source, outcome: "unauthorized" });
        await reply.code(401).header("WWW-Authenticate", auth.scheme).send({ error: bad });
      }
    });
    scoped.withTypeProvider<TypeBoxTypeProvider>().post(
      path,
      {
        schema: {
          body: WebhookBodySchema,
          response: { 200: WebhookReplySchema, 400: ErrorSchema, 503: ErrorSchema },
        },
      },
      async (req, reply) => {
        if (!ctx.isLeader()) {
          ctx.metrics.webhooks.inc({ source, outcome: "standby" });
          return reply
            .code(503)
            .header("Retry-After", "5")
            .send({ error: "standby replica: not the leader" });
        }
        try {
          const result = await ingestWebhook(req.body, source, new Date(), {
            sink: ctx.ingest,
            evidence: ctx.evidence,
            metrics: ctx.metrics,
          });
          ctx.metrics.webhooks.inc({ source, outcome: "accepted" });
          return result;
        } catch (err) {
          if (!(err instanceof Refused)) throw err;
          const unavailable = err.statusCode === 503;
          ctx.metrics.webhooks.inc({ source, outcome: unavailable ? "unavailable" : "invalid" });
          if (unavailable) void reply.header("Retry-After", "5");
          return reply.code(err.statusCode).send({ error: err.message });
        }
      },
    );
    done();
  });
}
