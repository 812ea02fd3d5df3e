// Gateway configuration, from the environment only (12-factor: the same image
// runs locally and in a cluster), read through the shared reader
// (src/shared/config/env.ts, ADR 0102): durations as "2m" strings, strict
// booleans, secrets from VAR or VAR_FILE. Every variable and default is listed
// in src/gateway/README.md; parseConfig() throws naming the variable on a
// malformed value, so a typo fails at start, not at the first query.
import {
  ConfigError,
  envReader,
  parseObserverUrls,
  splitList,
  type Env,
  type ObserverTarget,
  type Reader,
} from "../shared/config/env.ts";

export type { ObserverTarget };

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

/** "host:port" or ":port"; IPv6 as "[::1]:8080". */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(v);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError("KG_LISTEN", `must be host:port, got "${v}"`);
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** "url" or "node=url", comma-separated (the one parser, shared with the operator). */
export const parseObservers = (v: string | undefined): ObserverTarget[] => parseObserverUrls(v);

/** A duration setting and the integer-milliseconds name it had before (ADR 0102). */
const durations =
  (r: Reader) =>
  (name: string, legacyMs: string, fallback: number, min = 1): number =>
    r.duration(name, fallback, { min, legacyMs });

function parsePixie(r: Reader): PixieConfig | undefined {
  const ms = durations(r);
  const address = r.string("KG_PIXIE_ADDRESS");
  if (!address) return undefined;
  if (!/^[^\s/]+:\d+$/.test(address)) {
    throw new ConfigError("KG_PIXIE_ADDRESS", `must be host:port, got "${address}"`);
  }
  const apiKey = r.secret("KG_PIXIE_API_KEY");
  if (!apiKey)
    throw new ConfigError(
      "KG_PIXIE_API_KEY",
      "KG_PIXIE_ADDRESS is set: set KG_PIXIE_API_KEY or KG_PIXIE_API_KEY_FILE",
    );
  const clusterIds = r.list("KG_PIXIE_CLUSTER_ID");
  if (!clusterIds.length)
    throw new ConfigError(
      "KG_PIXIE_CLUSTER_ID",
      "KG_PIXIE_ADDRESS is set: set KG_PIXIE_CLUSTER_ID",
    );
  return {
    address,
    apiKey,
    clusterIds,
    tls: r.bool("KG_PIXIE_TLS", true),
    caFile: r.string("KG_PIXIE_CA_FILE"),
    allowUserScripts: r.bool("KG_PIXIE_ALLOW_USER_SCRIPTS", false),
    timeoutMs: ms("KG_PIXIE_TIMEOUT", "KG_PIXIE_TIMEOUT_MS", 30_000),
    maxRows: r.int("KG_PIXIE_MAX_ROWS", 100_000),
  };
}

function parseWhisperForward(r: Reader): WhisperForwardConfig | undefined {
  const ms = durations(r);
  const url = r.url("KG_OPERATOR_URL");
  if (!url) return undefined;
  return {
    operatorUrl: url,
    token: r.secret("KG_OPERATOR_TOKEN"),
    windowMs: ms("KG_PIXIE_WHISPER_WINDOW", "KG_PIXIE_WHISPER_WINDOW_MS", 300_000, 1000),
    everyMs: ms("KG_PIXIE_WHISPER_EVERY", "KG_PIXIE_WHISPER_EVERY_MS", 30_000, 100),
  };
}

export function parseConfig(
  env: Env = process.env,
  warn?: (message: string) => void,
): GatewayConfig {
  const r = envReader(env, warn);
  const ms = durations(r);
  const { host, port } = parseListen(r.string("KG_LISTEN") ?? "127.0.0.1:8080");
  const tokens = [...r.list("KG_GATEWAY_TOKENS"), ...splitList(r.secret("KG_GATEWAY_TOKENS"))];
  const authOff = r.oneOf("KG_GATEWAY_AUTH", ["bearer", "none"], "bearer") === "none";
  if (!authOff && tokens.length === 0) {
    throw new ConfigError(
      "KG_GATEWAY_TOKENS",
      "no bearer tokens: set KG_GATEWAY_TOKENS or KG_GATEWAY_TOKENS_FILE (or KG_GATEWAY_AUTH=none)",
    );
  }
  return {
    host,
    port,
    tokens: authOff ? [] : [...new Set(tokens)],
    openPaths: r.list("KG_GATEWAY_OPEN_PATHS", "/healthz,/readyz,/metrics"),
    corsOrigins: r.list("KG_CORS_ORIGINS"),
    prometheusUrl: r.url("KG_PROMETHEUS_URL"),
    scrapeIntervalMs: ms("KG_SCRAPE_INTERVAL", "KG_SCRAPE_INTERVAL_MS", 15_000),
    queryCache: {
      maxEntries: r.int("KG_QUERY_CACHE_ENTRIES", 1000, { min: 0 }),
      maxBytes: r.int("KG_QUERY_CACHE_BYTES", 64 * 1024 * 1024, { min: 0 }),
    },
    observers: parseObserverUrls(r.string("KG_OBSERVER_URLS")),
    observerScrapeMs: ms("KG_OBSERVER_SCRAPE_INTERVAL", "KG_OBSERVER_SCRAPE_MS", 5_000, 100),
    observerRetentionMs: ms("KG_OBSERVER_RETENTION", "KG_OBSERVER_RETENTION_MS", 3_600_000, 1000),
    kubeconfig: r.kubeconfig(),
    limits: {
      maxQueries: r.int("KG_MAX_QUERIES", 20),
      maxRangeMs: ms("KG_MAX_RANGE", "KG_MAX_RANGE_MS", 31 * 24 * 3_600_000),
      maxDataPoints: r.int("KG_MAX_DATA_POINTS", 11_000),
      minIntervalMs: ms("KG_MIN_INTERVAL", "KG_MIN_INTERVAL_MS", 1_000),
      maxRows: r.int("KG_MAX_ROWS", 5_000),
      bodyLimit: r.int("KG_BODY_LIMIT_BYTES", 1_048_576, { deprecated: ["KG_BODY_LIMIT"] }),
    },
    logLevel: r.logLevel(),
    pixie: parsePixie(r),
    otlp: {
      bodyLimit: r.int("KG_OTLP_BODY_LIMIT_BYTES", 4 * 1_048_576, {
        deprecated: ["KG_OTLP_BODY_LIMIT"],
      }),
      retentionMs: ms("KG_OTLP_RETENTION", "KG_OTLP_RETENTION_MS", 3_600_000, 1000),
      maxSeries: r.int("KG_OTLP_MAX_SERIES", 10_000),
      intervalMs: ms("KG_OTLP_INTERVAL", "KG_OTLP_INTERVAL_MS", 10_000, 100),
    },
    whisperForward: parseWhisperForward(r),
  };
}
