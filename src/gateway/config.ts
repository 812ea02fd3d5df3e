// Gateway configuration, from the environment only (12-factor: the same image
// runs locally and in a cluster). Every variable and default is listed in
// src/gateway/README.md; parseConfig() throws on a malformed value instead of
// guessing, so a typo fails at start, not at the first query.
import { readFileSync } from "node:fs";

export interface Limits {
  /** Queries in one POST /api/v1/query batch. */
  maxQueries: number;
  /** Longest time range of one query, in milliseconds. */
  maxRangeMs: number;
  /** Points per series: (to - from) / interval must stay at or below this. */
  maxDataPoints: number;
  /** Smallest interval (step) a signal query may ask for, in milliseconds. */
  minIntervalMs: number;
  /** Rows in one whispers/births/annotations answer. */
  maxRows: number;
  /** Request body size, in bytes. */
  bodyLimit: number;
}

export interface ObserverTarget {
  /** Node name attached to its series and events (the `node` label). */
  node: string;
  url: string;
}

export interface PixieConfig {
  /** host:port of Pixie Cloud (work.withpixie.ai:443) or of a Vizier reachable directly. */
  address: string;
  /** Secret: from KG_PIXIE_API_KEY or the file KG_PIXIE_API_KEY_FILE; never logged. */
  apiKey: string;
  /** Clusters queries may name; the first is the default. */
  clusterIds: string[];
  tls: boolean;
  caFile: string | undefined;
  /** Whether a query may carry its own PxL (off: only the shipped scripts run). */
  allowUserScripts: boolean;
  timeoutMs: number;
  /** Rows kept from one script run, over all its tables. */
  maxRows: number;
}

export interface OtlpConfig {
  /** Compressed request bytes of POST /v1/metrics (decompressed bodies get the same cap × 8). */
  bodyLimit: number;
  retentionMs: number;
  maxSeries: number;
  /** How often senders push (Pixie's export period): sizes rate windows like a scrape interval. */
  intervalMs: number;
}

export interface WhisperForwardConfig {
  /** The operator's base URL; its /webhooks/pixie receives qualifying findings. */
  operatorUrl: string;
  token: string | undefined;
  /** Look-back over which a pod's Pixie counters are summed. */
  windowMs: number;
  /** How often the gateway evaluates and forwards. */
  everyMs: number;
}

export interface GatewayConfig {
  host: string;
  port: number;
  /** Bearer tokens accepted; empty means authentication is off (only with KG_GATEWAY_AUTH=none). */
  tokens: string[];
  /** Paths answered without a token. */
  openPaths: string[];
  /** Origins allowed by CORS; empty means CORS is off (Grafana calls through its proxy). */
  corsOrigins: string[];
  prometheusUrl: string | undefined;
  /** Prometheus scrape interval of the observers, for rate windows. */
  scrapeIntervalMs: number;
  /** Prometheus answer cache (ADR 0024): most entries (0 = off) and bytes kept. */
  queryCache: { maxEntries: number; maxBytes: number };
  observers: ObserverTarget[];
  /** Direct mode: how often the gateway scrapes each observer itself. */
  observerScrapeMs: number;
  /** Direct mode: how much history the gateway keeps in memory. */
  observerRetentionMs: number;
  /** Kubeconfig file; undefined means in-cluster, then ~/.kube/config. */
  kubeconfig: string | undefined;
  limits: Limits;
  logLevel: string;
  /** Pixie's API (pull path); undefined = not configured (pixie queries answer 501). */
  pixie: PixieConfig | undefined;
  otlp: OtlpConfig;
  /** Forwarding of Pixie findings to the operator; undefined = off. */
  whisperForward: WhisperForwardConfig | undefined;
}

type Env = Record<string, string | undefined>;

const list = (v: string | undefined) =>
  (v ?? "")
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

function int(env: Env, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}`);
  return n;
}

/** "host:port" or ":port"; IPv6 as "[::1]:8080". */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`KG_LISTEN must be host:port, got "${v}"`);
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** "url" or "node=url", comma-separated. */
export function parseObservers(v: string | undefined): ObserverTarget[] {
  return list(v).map((item) => {
    const eq = item.indexOf("=");
    const node = eq > 0 ? item.slice(0, eq) : "";
    const url = (eq > 0 ? item.slice(eq + 1) : item).replace(/\/+$/, "");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`KG_OBSERVER_URLS: "${item}" is not a URL`);
    }
    return { node: node || parsed.host, url };
  });
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new Error(`${name} must be true or false`);
}

/** A secret from VAR, or from the file named by VAR_FILE (a mounted Secret). */
function secret(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  const v = file ? readFileSync(file, "utf8").trim() : env[name];
  return v || undefined;
}

function parsePixie(env: Env): PixieConfig | undefined {
  const address = env.KG_PIXIE_ADDRESS;
  if (!address) return undefined;
  if (!/^[^\s/]+:\d+$/.test(address)) {
    throw new Error(`KG_PIXIE_ADDRESS must be host:port, got "${address}"`);
  }
  const apiKey = secret(env, "KG_PIXIE_API_KEY");
  if (!apiKey)
    throw new Error("KG_PIXIE_ADDRESS is set: set KG_PIXIE_API_KEY or KG_PIXIE_API_KEY_FILE");
  const clusterIds = list(env.KG_PIXIE_CLUSTER_ID);
  if (!clusterIds.length) throw new Error("KG_PIXIE_ADDRESS is set: set KG_PIXIE_CLUSTER_ID");
  return {
    address,
    apiKey,
    clusterIds,
    tls: bool(env, "KG_PIXIE_TLS", true),
    caFile: env.KG_PIXIE_CA_FILE || undefined,
    allowUserScripts: bool(env, "KG_PIXIE_ALLOW_USER_SCRIPTS", false),
    timeoutMs: int(env, "KG_PIXIE_TIMEOUT_MS", 30_000),
    maxRows: int(env, "KG_PIXIE_MAX_ROWS", 100_000),
  };
}

function parseWhisperForward(env: Env): WhisperForwardConfig | undefined {
  const url = env.KG_OPERATOR_URL?.replace(/\/+$/, "");
  if (!url) return undefined;
  new URL(url); // throws on a malformed URL
  return {
    operatorUrl: url,
    token: secret(env, "KG_OPERATOR_TOKEN"),
    windowMs: int(env, "KG_PIXIE_WHISPER_WINDOW_MS", 300_000, 1000),
    everyMs: int(env, "KG_PIXIE_WHISPER_EVERY_MS", 30_000, 100),
  };
}

export function parseConfig(env: Env = process.env): GatewayConfig {
  const { host, port } = parseListen(env.KG_LISTEN ?? "127.0.0.1:8080");
  let tokens = list(env.KG_GATEWAY_TOKENS);
  if (env.KG_GATEWAY_TOKENS_FILE) {
    tokens = [...tokens, ...list(readFileSync(env.KG_GATEWAY_TOKENS_FILE, "utf8"))];
  }
  const authOff = env.KG_GATEWAY_AUTH === "none";
  if (!authOff && tokens.length === 0) {
    throw new Error(
      "no bearer tokens: set KG_GATEWAY_TOKENS or KG_GATEWAY_TOKENS_FILE (or KG_GATEWAY_AUTH=none)",
    );
  }
  const prometheusUrl = env.KG_PROMETHEUS_URL?.replace(/\/+$/, "") || undefined;
  if (prometheusUrl) new URL(prometheusUrl); // throws on a malformed URL
  return {
    host,
    port,
    tokens: authOff ? [] : tokens,
    openPaths: list(env.KG_GATEWAY_OPEN_PATHS ?? "/healthz,/readyz,/metrics"),
    corsOrigins: list(env.KG_CORS_ORIGINS),
    prometheusUrl,
    scrapeIntervalMs: int(env, "KG_SCRAPE_INTERVAL_MS", 15_000),
    queryCache: {
      maxEntries: int(env, "KG_QUERY_CACHE_ENTRIES", 1000, 0),
      maxBytes: int(env, "KG_QUERY_CACHE_BYTES", 64 * 1024 * 1024, 0),
    },
    observers: parseObservers(env.KG_OBSERVER_URLS),
    observerScrapeMs: int(env, "KG_OBSERVER_SCRAPE_MS", 5_000, 100),
    observerRetentionMs: int(env, "KG_OBSERVER_RETENTION_MS", 3_600_000, 1000),
    kubeconfig: env.KUBECONFIG || undefined,
    limits: {
      maxQueries: int(env, "KG_MAX_QUERIES", 20),
      maxRangeMs: int(env, "KG_MAX_RANGE_MS", 31 * 24 * 3_600_000),
      maxDataPoints: int(env, "KG_MAX_DATA_POINTS", 11_000),
      minIntervalMs: int(env, "KG_MIN_INTERVAL_MS", 1_000),
      maxRows: int(env, "KG_MAX_ROWS", 5_000),
      bodyLimit: int(env, "KG_BODY_LIMIT", 1_048_576),
    },
    logLevel: env.KG_LOG_LEVEL ?? "info",
    pixie: parsePixie(env),
    otlp: {
      bodyLimit: int(env, "KG_OTLP_BODY_LIMIT", 4 * 1_048_576),
      retentionMs: int(env, "KG_OTLP_RETENTION_MS", 3_600_000, 1000),
      maxSeries: int(env, "KG_OTLP_MAX_SERIES", 10_000),
      intervalMs: int(env, "KG_OTLP_INTERVAL_MS", 10_000, 100),
    },
    whisperForward: parseWhisperForward(env),
  };
}
