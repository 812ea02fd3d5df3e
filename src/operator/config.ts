// Operator configuration: defaults, then an optional file (KG_CONFIG, YAML or
// JSON, any subset of Config), then environment variables read through the
// shared reader (src/shared/config/env.ts, ADR 0102: "2m" durations, strict
// booleans, secrets from VAR or VAR_FILE, errors naming the variable). Every
// setting and its default is listed in src/operator/README.md ("Configuration").
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parse } from "yaml";
import { DEFAULT_ACTIONS, type ActionConfig, type ActionMode } from "./actions/plan.ts";
import { DEFAULT_AUTH, type AuthConfig } from "./alerts/auth.ts";
import { DEFAULT_RETENTION, type Retention } from "./births/retention.ts";
import { DEFAULT_THRESHOLDS, type Thresholds } from "./engine/thresholds.ts";
import { LEASE_DEFAULTS } from "./leader.ts";
import { ConfigError, envReader, parseObserverUrls, type Env } from "../shared/config/env.ts";

export interface Config {
  listen: string;
  kubeconfig?: string;
  /** The operator's namespace: its Lease, and whispers about non-pod workloads. */
  namespace: string;
  observers: { urls: string[]; service?: string; refreshMs: number };
  webhooks: { bodyLimitBytes: number; auth: AuthConfig };
  /** Where kernel evidence is fetched for alerts without values (ADR 0076). */
  evidence: { prometheusUrl?: string; timeoutMs: number };
  whispers: { quietPeriodMs: number; flushIntervalMs: number; maxEntries: number };
  thresholds: Thresholds;
  actions: ActionConfig;
  /** Client-go's LeaseDuration, RenewDeadline and RetryPeriod (ADR 0077). */
  leaderElection: {
    enabled: boolean;
    identity: string;
    leaseMs: number;
    renewDeadlineMs: number;
    retryMs: number;
  };
  /** Deadline of every Kubernetes API request. */
  api: { timeoutMs: number };
  /** PodBirthCertificates from the observers' birth events; retention bounds orphans. */
  births: { enabled: boolean } & Retention;
}

export function defaults(): Config {
  return {
    listen: "127.0.0.1:8080",
    namespace: "kernel-gossip",
    observers: { urls: [], refreshMs: 30_000 },
    webhooks: { bodyLimitBytes: 1024 * 1024, auth: { ...DEFAULT_AUTH } },
    evidence: { timeoutMs: 3_000 },
    whispers: { quietPeriodMs: 2 * 60_000, flushIntervalMs: 250, maxEntries: 10_000 },
    thresholds: structuredClone(DEFAULT_THRESHOLDS),
    actions: { ...DEFAULT_ACTIONS },
    leaderElection: {
      enabled: true,
      identity: `${hostname()}-${process.pid}`,
      ...LEASE_DEFAULTS,
    },
    api: { timeoutMs: 10_000 },
    births: { enabled: true, ...DEFAULT_RETENTION },
  };
}

function deepMerge<T>(base: T, over: unknown): T {
  if (typeof over !== "object" || over === null || Array.isArray(over)) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = typeof cur === "object" && cur !== null && !Array.isArray(cur) ? deepMerge(cur, v) : v;
  }
  return out as T;
}

export function loadConfig(
  env: Env = process.env,
  readFile = (p: string) => readFileSync(p, "utf8"),
  warn?: (message: string) => void,
): Config {
  let c = defaults();
  if (env.KG_CONFIG) c = deepMerge(c, parse(readFile(env.KG_CONFIG)));
  const r = envReader(env, warn, readFile);
  const set = <T>(value: T | undefined, apply: (v: T) => void) => {
    if (value !== undefined) apply(value);
  };
  // Only variables that are set override the file and the defaults.
  const has = (name: string) => r.string(name) !== undefined;
  const au = c.webhooks.auth;
  set(r.string("KG_LISTEN"), (v) => (c.listen = v));
  set(r.kubeconfig(), (v) => (c.kubeconfig = v));
  set(r.string("KG_NAMESPACE"), (v) => (c.namespace = v));
  set(
    r.string("KG_OBSERVER_URLS"),
    (v) => (c.observers.urls = parseObserverUrls(v).map((o) => o.url)),
  );
  set(r.string("KG_OBSERVER_SERVICE"), (v) => (c.observers.service = v));
  set(r.secret("KG_WEBHOOK_TOKEN"), (v) => (au.token = v));
  set(r.string("KG_WEBHOOK_AUTH_SCHEME"), (v) => (au.scheme = v));
  set(r.string("KG_WEBHOOK_BASIC_USER"), (v) => (au.basicUser = v));
  set(r.secret("KG_WEBHOOK_BASIC_PASSWORD"), (v) => (au.basicPassword = v));
  set(r.secret("KG_WEBHOOK_HMAC_SECRET"), (v) => (au.hmacSecret = v));
  set(r.string("KG_WEBHOOK_HMAC_HEADER"), (v) => (au.hmacHeader = v));
  set(r.string("KG_WEBHOOK_HMAC_TIMESTAMP_HEADER"), (v) => (au.hmacTimestampHeader = v));
  if (has("KG_BODY_LIMIT_BYTES"))
    c.webhooks.bodyLimitBytes = r.int("KG_BODY_LIMIT_BYTES", c.webhooks.bodyLimitBytes);
  set(r.url("KG_PROMETHEUS_URL"), (v) => (c.evidence.prometheusUrl = v));
  const ms = (name: string, current: number, min = 1) => r.duration(name, current, { min });
  c.evidence.timeoutMs = ms("KG_EVIDENCE_TIMEOUT", c.evidence.timeoutMs);
  c.whispers.quietPeriodMs = ms("KG_QUIET_PERIOD", c.whispers.quietPeriodMs);
  c.whispers.flushIntervalMs = ms("KG_FLUSH_INTERVAL", c.whispers.flushIntervalMs);
  c.actions.mode = r.oneOf<ActionMode>("KG_ACTIONS", ["off", "dry-run", "on"], c.actions.mode);
  if (has("KG_ACTIONS_NAMESPACES")) c.actions.namespaces = r.list("KG_ACTIONS_NAMESPACES");
  c.actions.maxStepFactor = r.number("KG_ACTIONS_MAX_STEP", c.actions.maxStepFactor);
  c.actions.cooldownMs = ms("KG_ACTIONS_COOLDOWN", c.actions.cooldownMs);
  const le = c.leaderElection;
  le.enabled = r.bool("KG_LEADER_ELECTION", le.enabled);
  set(r.string("KG_POD_NAME"), (v) => (le.identity = v));
  le.leaseMs = ms("KG_LEASE_DURATION", le.leaseMs);
  le.renewDeadlineMs = ms("KG_RENEW_DEADLINE", le.renewDeadlineMs);
  le.retryMs = ms("KG_RETRY_PERIOD", le.retryMs);
  c.api.timeoutMs = ms("KG_API_TIMEOUT", c.api.timeoutMs);
  c.births.enabled = r.bool("KG_BIRTHS", c.births.enabled);
  // "0" keeps orphans forever (the one duration that may be zero).
  if (r.string("KG_BIRTH_ORPHAN_MAX_AGE") === "0") c.births.maxAgeMs = 0;
  else c.births.maxAgeMs = ms("KG_BIRTH_ORPHAN_MAX_AGE", c.births.maxAgeMs);
  c.births.maxPerNamespace = r.int("KG_BIRTH_ORPHAN_MAX_PER_NAMESPACE", c.births.maxPerNamespace, {
    min: 0,
  });
  c.births.sweepIntervalMs = ms("KG_BIRTH_SWEEP_INTERVAL", c.births.sweepIntervalMs);
  if (c.actions.maxStepFactor <= 1)
    throw new ConfigError("KG_ACTIONS_MAX_STEP", "actions.maxStepFactor must be greater than 1");
  if (le.enabled && !(le.retryMs < le.renewDeadlineMs && le.renewDeadlineMs < le.leaseMs))
    throw new ConfigError(
      "KG_LEASE_DURATION",
      "KG_RETRY_PERIOD < KG_RENEW_DEADLINE < KG_LEASE_DURATION must hold (client-go's rule)",
    );
  return c;
}
