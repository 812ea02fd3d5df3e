// What went wrong talking to the gateway, in words a Grafana user can act on.
// Grafana's fetch rejects with {status, statusText, data}; the gateway's own
// errors carry {statusCode, error, message, field?}; Grafana's proxy answers
// 502/504 when the gateway cannot be reached at all.
import type { GatewayError } from "./contract";

export interface FetchFailure {
  status?: number;
  statusText?: string;
  data?: unknown;
  message?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

export function gatewayError(data: unknown): GatewayError | undefined {
  if (isObject(data) && typeof data.statusCode === "number" && typeof data.message === "string") {
    return data as unknown as GatewayError;
  }
  return undefined;
}

export function asFailure(err: unknown): FetchFailure {
  if (isObject(err)) {
    return err as FetchFailure;
  }
  return { message: String(err) };
}

/** One sentence naming the cause: unreachable, token refused, bad request, or the gateway's own message. */
export function describeFailure(err: unknown, gatewayUrl: string | undefined): string {
  const f = asFailure(err);
  const where = gatewayUrl ? ` at ${gatewayUrl}` : "";
  const gw = gatewayError(f.data);
  if (f.status === 401) {
    const why = gw?.message ?? f.statusText ?? "unauthorized";
    return why.startsWith("missing")
      ? `The gateway${where} wants an API token (401: ${why}). Set "API token" in the data source settings.`
      : `The gateway${where} refused the API token (401: ${why}). Use one of the gateway's KG_GATEWAY_TOKENS.`;
  }
  if (gw) {
    return `The gateway answered ${gw.statusCode} ${gw.error}: ${gw.message}`;
  }
  if (f.status === undefined || f.status === 0 || f.status === 502 || f.status === 504) {
    const detail = f.status
      ? `${f.status} ${f.statusText ?? ""}`.trim()
      : (f.message ?? "no answer");
    return `Cannot reach the gateway${where} (${detail}). Check the gateway URL and that Grafana's server can reach it.`;
  }
  const body = isObject(f.data) && typeof f.data.message === "string" ? `: ${f.data.message}` : "";
  return `Request to the gateway${where} failed: ${f.status} ${f.statusText ?? ""}${body}`.trim();
}
