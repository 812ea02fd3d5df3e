// Webhook credentials, as Grafana's webhook contact point and Alertmanager's
// http_config send them: an Authorization header (`<scheme> <credentials>`,
// Bearer by default), HTTP basic auth, and — Grafana only — an HMAC-SHA256
// signature of the raw body (optionally "<timestamp>:<body>"). Grafana uses two
// names for the signature header: its docs and UI placeholder say
// X-Grafana-Alerting-Signature, while its sender (grafana/alerting http/hmac.go)
// sends X-Grafana-Alert-Signature when a contact point leaves the header blank.
// Either one is read when the configured header is one of them.
import { createHmac, timingSafeEqual } from "node:crypto";

export interface AuthConfig {
  /** Expected `Authorization: <scheme> <token>`. */
  token?: string;
  scheme: string;
  basicUser?: string;
  basicPassword?: string;
  hmacSecret?: string;
  hmacHeader: string;
  hmacTimestampHeader?: string;
  /** Largest accepted clock difference for signed timestamps. */
  hmacMaxSkewMs: number;
}

export const DEFAULT_AUTH: AuthConfig = {
  scheme: "Bearer",
  hmacHeader: "X-Grafana-Alerting-Signature",
  hmacMaxSkewMs: 5 * 60_000,
};

/** The signature header names Grafana sends (documented one first). */
export const GRAFANA_SIGNATURE_HEADERS = [
  "X-Grafana-Alerting-Signature",
  "X-Grafana-Alert-Signature",
];

/** Lower-case header names to read the signature from, in order. */
function signatureHeaders(configured: string): string[] {
  const lower = configured.toLowerCase();
  const grafana = GRAFANA_SIGNATURE_HEADERS.map((h) => h.toLowerCase());
  return grafana.includes(lower) ? [lower, ...grafana.filter((h) => h !== lower)] : [lower];
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export const authConfigured = (c: AuthConfig) => Boolean(c.token ?? c.basicUser ?? c.hmacSecret);

/** Checks the Authorization header; undefined = accepted, else the reason. */
export function checkAuthorization(c: AuthConfig, header: string | undefined): string | undefined {
  if (!c.token && !c.basicUser) return undefined;
  if (!header) return "missing Authorization header";
  if (c.token && same(header, `${c.scheme} ${c.token}`)) return undefined;
  if (c.basicUser !== undefined) {
    const expected = Buffer.from(`${c.basicUser}:${c.basicPassword ?? ""}`).toString("base64");
    if (same(header, `Basic ${expected}`)) return undefined;
  }
  return "invalid credentials";
}

/** Checks Grafana's HMAC signature over the raw body; undefined = accepted. */
export function checkSignature(
  c: AuthConfig,
  rawBody: string,
  headers: Record<string, string | string[] | undefined>,
  now: Date,
): string | undefined {
  if (!c.hmacSecret) return undefined;
  const sig = signatureHeaders(c.hmacHeader)
    .map((h) => headers[h])
    .find((v) => v !== undefined);
  if (typeof sig !== "string") return `missing ${c.hmacHeader} header`;
  let message = rawBody;
  if (c.hmacTimestampHeader) {
    const ts = headers[c.hmacTimestampHeader.toLowerCase()];
    if (typeof ts !== "string" || !/^\d+$/.test(ts))
      return `missing ${c.hmacTimestampHeader} header`;
    if (Math.abs(now.getTime() - Number(ts) * 1000) > c.hmacMaxSkewMs)
      return "signature timestamp too old";
    message = `${ts}:${rawBody}`;
  }
  const expected = createHmac("sha256", c.hmacSecret).update(message).digest("hex");
  return same(sig.toLowerCase(), expected) ? undefined : "invalid signature";
}
