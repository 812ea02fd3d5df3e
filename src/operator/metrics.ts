// The operator's own Prometheus metrics (kernel_gossip_operator_*), on its own
// registry so tests can read them without global state.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type OperatorMetrics = ReturnType<typeof operatorMetrics>;

export function operatorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "kernel_gossip_operator_process_" });
  const m = {
    registry,
    webhooks: new Counter({
      name: "kernel_gossip_operator_webhooks_total",
      help: "Webhook requests by source and outcome.",
      labelNames: ["source", "outcome"] as const,
      registers: [registry],
    }),
    alertsIgnored: new Counter({
      name: "kernel_gossip_operator_alerts_ignored_total",
      help: "Alerts accepted but ignored, by reason (e.g. no signal label).",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    evidenceLookups: new Counter({
      name: "kernel_gossip_operator_evidence_lookups_total",
      help: "Kernel evidence fetched for alerts without values, by signal and result (found, none).",
      labelNames: ["signal", "result"] as const,
      registers: [registry],
    }),
    observerEvents: new Counter({
      name: "kernel_gossip_operator_observer_events_total",
      help: "Observer events received, by type and outcome.",
      labelNames: ["type", "outcome"] as const,
      registers: [registry],
    }),
    observerRestarts: new Counter({
      name: "kernel_gossip_operator_observer_restarts_total",
      help: "Observer runs that replaced another on a stream (new instance id): the stream replays from the start of what the new run holds.",
      labelNames: ["observer"] as const,
      registers: [registry],
    }),
    observerGaps: new Counter({
      name: "kernel_gossip_operator_observer_gap_events_total",
      help: "Observer events never received: sequence numbers skipped because they had left the observer's replay buffer.",
      labelNames: ["observer"] as const,
      registers: [registry],
    }),
    observerStreams: new Gauge({
      name: "kernel_gossip_operator_observer_streams",
      help: "Observer event streams currently connected.",
      registers: [registry],
    }),
    whispers: new Counter({
      name: "kernel_gossip_operator_whispers_total",
      help: "Whisper changes written to the API, by change (created, updated, resolved).",
      labelNames: ["change"] as const,
      registers: [registry],
    }),
    apiWrites: new Counter({
      name: "kernel_gossip_operator_api_writes_total",
      help: "Writes to the Kubernetes API, by kind of write and result.",
      labelNames: ["write", "result"] as const,
      registers: [registry],
    }),
    whisperRetries: new Counter({
      name: "kernel_gossip_operator_whisper_retries_total",
      help: "Whisper writes that failed and will be retried, by reason (unavailable, conflict, rejected, namespace-missing). Nothing accepted is dropped.",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    whispersPending: new Gauge({
      name: "kernel_gossip_operator_whispers_pending",
      help: "Whispers with evidence not yet written to the API.",
      registers: [registry],
    }),
    writerErrors: new Counter({
      name: "kernel_gossip_operator_writer_errors_total",
      help: "Flushes that failed unexpectedly; the writer loop continues after each.",
      registers: [registry],
    }),
    actions: new Counter({
      name: "kernel_gossip_operator_actions_total",
      help: "Guarded actions by mode (dry-run, applied, refused, failed).",
      labelNames: ["mode"] as const,
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: "kernel_gossip_operator_reconcile_seconds",
      help: "Time to write one whisper (spec, status, events, actions).",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    timeToTruth: new Histogram({
      name: "kernel_gossip_operator_time_to_truth_seconds",
      help: "From the observation time (kernel event or alert) of the oldest finding a whisper write carried to that write.",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    birthCertificates: new Counter({
      name: "kernel_gossip_operator_birth_certificates_total",
      help: "PodBirthCertificate writes by result (created, updated, gone, retried, failed, dropped).",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    birthEventsSkipped: new Counter({
      name: "kernel_gossip_operator_birth_events_skipped_total",
      help: "Birth events not turned into certificates, by reason (no-pod: a bare container; unresolved: pod UID unknown to the API).",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    birthOrphans: new Counter({
      name: "kernel_gossip_operator_birth_orphans_total",
      help: "Certificates written without an owner because their Pod was already gone.",
      registers: [registry],
    }),
    birthOrphansSwept: new Counter({
      name: "kernel_gossip_operator_birth_orphans_swept_total",
      help: "Orphan certificates deleted by the retention sweep, by reason (age, count).",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    birthPending: new Gauge({
      name: "kernel_gossip_operator_birth_certificates_pending",
      help: "Certificates queued or being written.",
      registers: [registry],
    }),
    leaderTransitions: new Counter({
      name: "kernel_gossip_operator_leader_transitions_total",
      help: "Leadership terms started and stopped by this replica.",
      labelNames: ["change"] as const,
      registers: [registry],
    }),
    leader: new Gauge({
      name: "kernel_gossip_operator_leader",
      help: "1 while this replica holds the leader lease.",
      registers: [registry],
    }),
  };
  return m;
}
