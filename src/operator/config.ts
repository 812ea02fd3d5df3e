// Operator configuration: defaults, then an optional file (KG_CONFIG, YAML or
// JSON, any subset of Config), then environment variables. Every setting and
// its default is listed in src/operator/README.md ("Configuration").
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parse } from "yaml";
import { DEFAULT_ACTIONS, type ActionConfig, type ActionMode } from "./actions/plan.ts";
import { parseDuration } from "./alerts/to-findings.ts";
import { DEFAULT_AUTH, type AuthConfig } from "./alerts/auth.ts";
import { DEFAULT_RETENTION, type Retention } from "./births/retention.ts";
import { DEFAULT_THRESHOLDS, type Thresholds } from "./engine/thresholds.ts";
import { LEASE_DEFAULTS } from "./leader.ts";

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

type Env = Record<string, string | undefined>;

function deepMerge<T>(base: T, over: unknown): T {
  if (typeof over !== "object" || over === null || Array.isArray(over)) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const cur = out[k];
    out[k] = typeof cur === "object" && cur !== null && !Array.isArray(cur) ? deepMerge(cur, v) : v;
  }
  return out as T;
}

function duration(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`${name}: "${text}" is not a duration (e.g. 250ms, 2m)`);
  return ms;
}

function number(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: "${text}" is not a positive number`);
  return n;
}

function count(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name}: "${text}" is not a count (0 or more)`);
  return n;
}

const list = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function loadConfig(
  env: Env = process.env,
  readFile = (p: string) => readFileSync(p, "utf8"),
): Config {
  let c = defaults();
  if (env.KG_CONFIG) c = deepMerge(c, parse(readFile(env.KG_CONFIG)));
  const set = (name: string, apply: (v: string) => void) => {
    const v = env[name];
    if (v !== undefined && v !== "") apply(v);
  };
  set("KG_LISTEN", (v) => (c.listen = v));
  set("KG_KUBECONFIG", (v) => (c.kubeconfig = v));
  set("KG_NAMESPACE", (v) => (c.namespace = v));
  set("KG_OBSERVER_URLS", (v) => (c.observers.urls = list(v)));
  set("KG_OBSERVER_SERVICE", (v) => (c.observers.service = v));
  set("KG_WEBHOOK_TOKEN", (v) => (c.webhooks.auth.token = v));
  set("KG_WEBHOOK_AUTH_SCHEME", (v) => (c.webhooks.auth.scheme = v));
  set("KG_WEBHOOK_BASIC_USER", (v) => (c.webhooks.auth.basicUser = v));
  set("KG_WEBHOOK_BASIC_PASSWORD", (v) => (c.webhooks.auth.basicPassword = v));
  set("KG_WEBHOOK_HMAC_SECRET", (v) => (c.webhooks.auth.hmacSecret = v));
  set("KG_WEBHOOK_HMAC_HEADER", (v) => (c.webhooks.auth.hmacHeader = v));
  set("KG_WEBHOOK_HMAC_TIMESTAMP_HEADER", (v) => (c.webhooks.auth.hmacTimestampHeader = v));
  set("KG_BODY_LIMIT_BYTES", (v) => (c.webhooks.bodyLimitBytes = number("KG_BODY_LIMIT_BYTES", v)));
  set("KG_PROMETHEUS_URL", (v) => {
    if (!/^https?:\/\/[^/]/.test(v))
      throw new Error(`KG_PROMETHEUS_URL: "${v}" is not an http(s) URL`);
    c.evidence.prometheusUrl = v;
  });
  set("KG_EVIDENCE_TIMEOUT", (v) => (c.evidence.timeoutMs = duration("KG_EVIDENCE_TIMEOUT", v)));
  set("KG_QUIET_PERIOD", (v) => (c.whispers.quietPeriodMs = duration("KG_QUIET_PERIOD", v)));
  set("KG_FLUSH_INTERVAL", (v) => (c.whispers.flushIntervalMs = duration("KG_FLUSH_INTERVAL", v)));
  set("KG_ACTIONS", (v) => {
    if (!["off", "dry-run", "on"].includes(v))
      throw new Error(`KG_ACTIONS: "${v}" is not off, dry-run or on`);
    c.actions.mode = v as ActionMode;
  });
  set("KG_ACTIONS_NAMESPACES", (v) => (c.actions.namespaces = list(v)));
  set("KG_ACTIONS_MAX_STEP", (v) => (c.actions.maxStepFactor = number("KG_ACTIONS_MAX_STEP", v)));
  set("KG_ACTIONS_COOLDOWN", (v) => (c.actions.cooldownMs = duration("KG_ACTIONS_COOLDOWN", v)));
  set("KG_LEADER_ELECTION", (v) => (c.leaderElection.enabled = v !== "false"));
  set("KG_POD_NAME", (v) => (c.leaderElection.identity = v));
  set("KG_LEASE_DURATION", (v) => (c.leaderElection.leaseMs = duration("KG_LEASE_DURATION", v)));
  set("KG_RENEW_DEADLINE", (v) => {
    c.leaderElection.renewDeadlineMs = duration("KG_RENEW_DEADLINE", v);
  });
  set("KG_RETRY_PERIOD", (v) => (c.leaderElection.retryMs = duration("KG_RETRY_PERIOD", v)));
  set("KG_API_TIMEOUT", (v) => (c.api.timeoutMs = duration("KG_API_TIMEOUT", v)));
  set("KG_BIRTHS", (v) => (c.births.enabled = v !== "false"));
  set("KG_BIRTH_ORPHAN_MAX_AGE", (v) => {
    c.births.maxAgeMs = v === "0" ? 0 : duration("KG_BIRTH_ORPHAN_MAX_AGE", v);
  });
  set("KG_BIRTH_ORPHAN_MAX_PER_NAMESPACE", (v) => {
    c.births.maxPerNamespace = count("KG_BIRTH_ORPHAN_MAX_PER_NAMESPACE", v);
  });
  set("KG_BIRTH_SWEEP_INTERVAL", (v) => {
    c.births.sweepIntervalMs = duration("KG_BIRTH_SWEEP_INTERVAL", v);
  });
  if (c.actions.maxStepFactor <= 1) throw new Error("actions.maxStepFactor must be greater than 1");
  const le = c.leaderElection;
  if (le.enabled && !(le.retryMs < le.renewDeadlineMs && le.renewDeadlineMs < le.leaseMs))
    throw new Error(
      "KG_RETRY_PERIOD < KG_RENEW_DEADLINE < KG_LEASE_DURATION must hold (client-go's rule)",
    );
  return c;
}
