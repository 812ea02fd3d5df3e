// Turns one webhook body into findings and counts what was ignored and why.
import type { WhisperSource } from "../../shared/model/kernel-whisper.ts";
import type { Finding } from "../engine/finding.ts";
import type { OperatorMetrics } from "../metrics.ts";
import type { WebhookBody, WebhookReply } from "./schema.ts";
import { alertToFinding } from "./to-findings.ts";

export function ingestWebhook(
  body: WebhookBody,
  source: WhisperSource,
  receivedAt: Date,
  sink: (f: Finding) => void,
  metrics: OperatorMetrics,
): WebhookReply {
  const reply: WebhookReply = { accepted: 0, ignored: 0, reasons: {} };
  for (const alert of body.alerts) {
    const mapped = alertToFinding(alert, source, receivedAt);
    if ("ignored" in mapped) {
      reply.ignored++;
      reply.reasons[mapped.ignored] = (reply.reasons[mapped.ignored] ?? 0) + 1;
      metrics.alertsIgnored.inc({ reason: mapped.ignored });
      continue;
    }
    reply.accepted++;
    sink(mapped.finding);
  }
  return reply;
}
