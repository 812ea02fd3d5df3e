// The operator's HTTP surface: webhooks in, health and metrics out. Routes are
// thin; the AppContext carries what they need.
import Fastify from "fastify";
import type { Config } from "./config.ts";
import type { Finding } from "./engine/finding.ts";
import type { EvidenceQuery, EvidenceResult } from "./evidence/query.ts";
import type { Log } from "./log.ts";
import type { OperatorMetrics } from "./metrics.ts";
import { healthRoutes } from "./routes/health.ts";
import { alertmanagerWebhook } from "./routes/webhooks/alertmanager.ts";
import { grafanaWebhook } from "./routes/webhooks/grafana.ts";
import { pixieWebhook } from "./routes/webhooks/pixie.ts";

export interface Readiness {
  ready: boolean;
  leader: boolean;
  observers: { url: string; lastSeq?: number }[];
  dirtyWhispers: number;
}

export interface AppContext {
  cfg: Config;
  log: Log;
  metrics: OperatorMetrics;
  /** Records findings all or nothing; the reason when it cannot now (the webhook answers 503). */
  ingest: (findings: Finding[]) => string | undefined;
  evidence: (q: EvidenceQuery) => Promise<EvidenceResult>;
  isLeader: () => boolean;
  readiness: () => Readiness;
}

export function buildServer(ctx: AppContext) {
  const app = Fastify({
    // Our own structured log covers what matters; per-request lines would flood it.
    logger: false,
    bodyLimit: ctx.cfg.webhooks.bodyLimitBytes,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    const code = err.statusCode ?? 500;
    if (code >= 500) ctx.log.error({ err }, "request failed");
    return reply.code(code).send({ error: err.message });
  });
  healthRoutes(app, ctx);
  grafanaWebhook(app, ctx);
  alertmanagerWebhook(app, ctx);
  pixieWebhook(app, ctx);
  return app;
}
