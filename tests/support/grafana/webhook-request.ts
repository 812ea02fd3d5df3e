// The request Grafana's webhook notifier sends, built from the contract —
// Grafana itself cannot run here. Input: the generated alerting provisioning
// file (after Grafana's `${VAR}` expansion), one of its rules, and the
// evaluated series (labels and the values of refIds B and C). Output: URL,
// method, headers and body exactly as the documented webhook contact point
// forms them: body version "1" with per-alert values, `Authorization:
// <scheme> <credentials>`, and the HMAC-SHA256 signature of
// "<unix seconds>:<body>" in the configured header (X-Grafana-Alert-Signature
// when blank, as Grafana's sender does) with the timestamp in its own header. A
// hmacConfig with an empty secret throws, as Grafana's sender refuses it. The title and message are Grafana template output the operator
// does not read; they follow the default subject's shape only.
import { createHash, createHmac } from "node:crypto";
import { renderTemplate } from "./template.ts";

export interface ProvisionedRule {
  uid: string;
  title: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  data: { refId: string; model: Record<string, unknown> }[];
}

export interface WebhookSettings {
  url: string;
  httpMethod?: string;
  authorization_scheme?: string;
  authorization_credentials?: string;
  hmacConfig?: { secret: string; header?: string; timestampHeader?: string };
}

export interface ProvisionedAlerting {
  groups: { folder: string; name: string; rules: ProvisionedRule[] }[];
  contactPoints: { name: string; receivers: { type: string; settings: WebhookSettings }[] }[];
  policies: { receiver: string; group_by?: string[] }[];
}

/** Grafana's provisioning expansion of `${VAR}` and `$VAR` (`$$` is a literal `$`). */
export function expandEnv(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (m, a, b) => (m === "$$" ? "$" : (env[(a ?? b) as string] ?? "")),
  );
}

const mapStrings = (v: unknown, f: (s: string) => string): unknown =>
  typeof v === "string"
    ? f(v)
    : Array.isArray(v)
      ? v.map((x) => mapStrings(x, f))
      : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, f)]))
        : v;

/**
 * The file as Grafana reads it: env expanded in rule labels, contact points
 * and policies; annotations (templates) and query models left raw.
 */
export function interpolate(
  file: ProvisionedAlerting,
  env: Record<string, string | undefined>,
): ProvisionedAlerting {
  const x = (v: unknown) => mapStrings(v, (s) => expandEnv(s, env));
  return {
    groups: file.groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => ({ ...r, labels: x(r.labels) as Record<string, string> })),
    })),
    contactPoints: x(file.contactPoints) as ProvisionedAlerting["contactPoints"],
    policies: x(file.policies) as ProvisionedAlerting["policies"],
  };
}

const EXTERNAL_URL = "http://localhost:3000/";

export interface Evaluated {
  /** Series labels from query A (Prometheus' result metric). */
  labels: Record<string, string>;
  /** refId → number, as Grafana reports them (reduce B, threshold C). */
  values: Record<string, number>;
  startsAt: Date;
}

export interface WebhookRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

const sortedPairs = (l: Record<string, string>) =>
  Object.keys(l)
    .sort()
    .map((k) => [k, l[k] ?? ""] as const);

export function grafanaWebhookRequest(
  file: ProvisionedAlerting,
  ruleUid: string,
  evaluated: Evaluated,
  now: Date,
): WebhookRequest {
  const group = file.groups.find((g) => g.rules.some((r) => r.uid === ruleUid));
  const rule = group?.rules.find((r) => r.uid === ruleUid);
  if (!group || !rule) throw new Error(`no rule ${ruleUid} in the provisioning file`);
  const policy = file.policies[0];
  if (!policy) throw new Error("no notification policy");
  const point = file.contactPoints.find((c) => c.name === policy.receiver);
  const receiver = point?.receivers.find((r) => r.type === "webhook");
  if (!point || !receiver) throw new Error(`no webhook contact point ${policy.receiver}`);
  const s = receiver.settings;

  // Instance labels: the query's series labels, the rule's labels, then Grafana's own.
  const labels: Record<string, string> = {
    ...evaluated.labels,
    ...rule.labels,
    alertname: rule.title,
    grafana_folder: group.folder,
  };
  const annotations = Object.fromEntries(
    Object.entries(rule.annotations).map(([k, v]) => [
      k,
      renderTemplate(v, { labels, values: evaluated.values }),
    ]),
  );
  const fingerprint = createHash("sha256")
    .update(JSON.stringify(sortedPairs(labels)))
    .digest("hex")
    .slice(0, 16);
  const groupLabels = Object.fromEntries(
    (policy.group_by ?? []).filter((k) => k in labels).map((k) => [k, labels[k] ?? ""]),
  );
  const rest = sortedPairs(labels)
    .filter(([k]) => !(k in groupLabels))
    .map(([, v]) => v);
  const alert = {
    status: "firing",
    labels,
    annotations,
    startsAt: evaluated.startsAt.toISOString(),
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: `${EXTERNAL_URL}alerting/grafana/${rule.uid}/view?orgId=1`,
    fingerprint,
    silenceURL: `${EXTERNAL_URL}alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3D${rule.uid}&orgId=1`,
    dashboardURL: "",
    panelURL: "",
    values: evaluated.values,
    valueString: Object.entries(evaluated.values)
      .map(([ref, v]) => `[ var='${ref}' labels={} value=${String(v)} ]`)
      .join(", "),
    ruleUID: rule.uid,
    orgId: 1,
  };
  const body = JSON.stringify({
    receiver: point.name,
    status: "firing",
    alerts: [alert],
    groupLabels,
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: EXTERNAL_URL,
    version: "1",
    groupKey: `{}:{${sortedPairs(groupLabels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(", ")}}`,
    truncatedAlerts: 0,
    orgId: 1,
    title: `[FIRING:1] ${Object.values(groupLabels).join(" ")} (${rest.join(" ")})`,
    state: "alerting",
    message: Object.values(annotations).join("\n"),
  });

  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (s.authorization_credentials) {
    headers.Authorization = `${s.authorization_scheme ?? "Bearer"} ${s.authorization_credentials}`;
  }
  if (s.hmacConfig) {
    // grafana/alerting http/hmac.go: a hmacConfig without a secret fails every send,
    // and a blank header falls back to X-Grafana-Alert-Signature (not the docs' name).
    if (!s.hmacConfig.secret)
      throw new Error(
        `contact point ${point.name}: hmacConfig.secret is empty; Grafana refuses to send ("secret must be provided")`,
      );
    const header = s.hmacConfig.header || "X-Grafana-Alert-Signature";
    let signed = body;
    if (s.hmacConfig.timestampHeader) {
      const ts = String(Math.floor(now.getTime() / 1000));
      headers[s.hmacConfig.timestampHeader] = ts;
      signed = `${ts}:${body}`;
    }
    headers[header] = createHmac("sha256", s.hmacConfig.secret).update(signed).digest("hex");
  }
  return { url: s.url, method: s.httpMethod ?? "POST", headers, body };
}
