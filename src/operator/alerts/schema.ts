// The webhook bodies of Grafana's webhook contact point (version "1") and
// Prometheus Alertmanager (version "4"): one shape, Grafana adds orgId, title,
// state, message and per-alert values. Unknown fields are allowed (newer
// senders add some); required ones are what the mapping needs.
import { Type, type Static } from "@sinclair/typebox";

const Labels = Type.Record(Type.String(), Type.String());

export const AlertSchema = Type.Object({
  status: Type.Union([Type.Literal("firing"), Type.Literal("resolved")]),
  labels: Labels,
  annotations: Type.Optional(Labels),
  startsAt: Type.Optional(Type.String()),
  endsAt: Type.Optional(Type.String()),
  generatorURL: Type.Optional(Type.String()),
  fingerprint: Type.Optional(Type.String()),
  silenceURL: Type.Optional(Type.String()),
  dashboardURL: Type.Optional(Type.String()),
  panelURL: Type.Optional(Type.String()),
  values: Type.Optional(
    Type.Union([Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])), Type.Null()]),
  ),
  valueString: Type.Optional(Type.String()),
});
export type Alert = Static<typeof AlertSchema>;

export const WebhookBodySchema = Type.Object({
  receiver: Type.String(),
  status: Type.Union([Type.Literal("firing"), Type.Literal("resolved")]),
  alerts: Type.Array(AlertSchema, { maxItems: 1000 }),
  groupLabels: Type.Optional(Labels),
  commonLabels: Type.Optional(Labels),
  commonAnnotations: Type.Optional(Labels),
  externalURL: Type.Optional(Type.String()),
  version: Type.String(),
  groupKey: Type.Optional(Type.String()),
  truncatedAlerts: Type.Optional(Type.Integer({ minimum: 0 })),
  // Grafana only:
  orgId: Type.Optional(Type.Integer()),
  title: Type.Optional(Type.String()),
  state: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});
export type WebhookBody = Static<typeof WebhookBodySchema>;

export const WebhookReplySchema = Type.Object({
  accepted: Type.Integer({ description: "Alerts that became findings." }),
  ignored: Type.Integer({ description: "Alerts accepted but ignored (see reasons)." }),
  reasons: Type.Record(Type.String(), Type.Integer()),
});
export type WebhookReply = Static<typeof WebhookReplySchema>;

export const ErrorSchema = Type.Object({ error: Type.String() });
