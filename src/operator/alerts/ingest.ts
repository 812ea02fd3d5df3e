// Turns one webhook body into findings, all or nothing (ADR 0075): every alert
// is mapped and validated first (a bad label → 400 naming it, nothing
// recorded); alerts without numbers get the kernel evidence fetched for their
// subject and window (ADR 0076); if the book cannot take the findings without
// forgetting unwritten evidence the body is refused with 503 (the sender
// retries); otherwise all are recorded and what was ignored is counted.
import type { WhisperSource } from "../../shared/model/kernel-whisper.ts";
import type { Finding } from "../engine/finding.ts";
import type { EvidenceQuery, EvidenceResult } from "../evidence/query.ts";
import type { OperatorMetrics } from "../metrics.ts";
import type { WebhookBody, WebhookReply } from "./schema.ts";
import { alertToFinding } from "./to-findings.ts";

export interface IngestDeps {
  /** Records findings all or nothing; the reason when it cannot take them now. */
  sink: (findings: Finding[]) => string | undefined;
  /** Fetches the kernel's evidence for an alert that carried none. */
  evidence: (q: EvidenceQuery) => Promise<EvidenceResult>;
  metrics: OperatorMetrics;
}

/** A refusal with its HTTP status, answered by the route. */
export class Refused extends Error {
  constructor(
    readonly statusCode: 400 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** The finding with the fetched evidence, or with a plain "none" and where the operator looked. */
export function withEvidence(f: Finding, r: EvidenceResult, whenNone: string): Finding {
  const alertAttributes = f.kernelTruth.attributes ?? {};
  if (r.found) {
    return {
      ...f,
      kernelTruth: {
        ...r.kernelTruth,
        attributes: { ...(r.kernelTruth.attributes ?? {}), ...alertAttributes },
        origin:
          `${f.kernelTruth.origin ?? ""}; evidence fetched by the operator: ${r.kernelTruth.origin ?? ""}`.slice(
            0,
            512,
          ),
      },
      ...(r.metricsView ? { metricsView: r.metricsView } : {}),
    };
  }
  return {
    ...f,
    kernelTruth: {
      ...f.kernelTruth,
      attributes: { ...alertAttributes, kernelEvidence: "none", note: whenNone.slice(0, 1024) },
      origin: `${f.kernelTruth.origin ?? ""}; no kernel evidence in: ${r.searched}`.slice(0, 512),
    },
  };
}

export async function ingestWebhook(
  body: WebhookBody,
  source: WhisperSource,
  receivedAt: Date,
  deps: IngestDeps,
): Promise<WebhookReply> {
  const reply: WebhookReply = { accepted: 0, ignored: 0, reasons: {} };
  const mapped = body.alerts.map((alert) => alertToFinding(alert, source, receivedAt));
  for (const [i, m] of mapped.entries()) {
    if ("invalid" in m) {
      deps.metrics.alertsIgnored.inc({ reason: "invalid-label" });
      throw new Refused(400, `alerts[${i}].${m.invalid}`);
    }
  }
  const findings = await Promise.all(
    mapped.map(async (m) => {
      if (!("finding" in m)) return undefined;
      if (!m.lookup) return m.finding;
      const r = await deps.evidence(m.lookup);
      deps.metrics.evidenceLookups.inc({
        signal: m.lookup.signal,
        result: r.found ? "found" : "none",
      });
      return withEvidence(m.finding, r, m.whenNone);
    }),
  );
  const accepted = findings.filter((f): f is Finding => f !== undefined);
  const refused = deps.sink(accepted);
  if (refused !== undefined) throw new Refused(503, `${refused}; retry later`);
  for (const m of mapped) {
    if ("ignored" in m) {
      reply.ignored++;
      reply.reasons[m.ignored] = (reply.reasons[m.ignored] ?? 0) + 1;
      deps.metrics.alertsIgnored.inc({ reason: m.ignored });
    }
  }
  reply.accepted = accepted.length;
  return reply;
}
