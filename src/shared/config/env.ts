// One way to read configuration from the environment for every TypeScript
// component (gateway, operator, CLI; ADR 0102): durations are Go-style strings
// ("250ms", "2m", "1h30m"), booleans are strict (true/false/1/0), lists split on
// commas or newlines, secrets come from VAR or the file VAR_FILE names, and a
// renamed variable is still read under its old name with a deprecation
// warning. A malformed value throws naming the variable, so it fails at start.
import { readFileSync } from "node:fs";

export type Env = Record<string, string | undefined>;

/** Thrown for a malformed setting; the message starts with the variable's name. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };

/** "250ms", "30s", "2m", "1h30m" (Go's and Prometheus' form) in ms; undefined if not one. */
export function parseDuration(text: string | undefined): number | undefined {
  if (!text) return undefined;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? 0);
    consumed += m[0].length;
  }
  return consumed === text.length && total > 0 ? total : undefined;
}

/** A duration in ms as the shortest Go-style string ("300000" → "5m"), for docs and logs. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["d", 8.64e7],
    ["h", 3.6e6],
    ["m", 6e4],
    ["s", 1e3],
  ] as const)
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** Comma- or newline-separated, trimmed, empty items dropped. */
export const splitList = (text: string | undefined): string[] =>
  (text ?? "")
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

export interface ObserverTarget {
  /** Node name attached to its series and events (the `node` label). */
  node: string;
  url: string;
}

/** KG_OBSERVER_URLS: "url" or "node=url" items, comma- or newline-separated. */
export function parseObserverUrls(
  text: string | undefined,
  variable = "KG_OBSERVER_URLS",
): ObserverTarget[] {
  return splitList(text).map((item) => {
    const eq = item.indexOf("=");
    const node = eq > 0 ? item.slice(0, eq) : "";
    const url = (eq > 0 ? item.slice(eq + 1) : item).replace(/\/+$/, "");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(variable, `"${item}" is not a URL (url or node=url)`);
    }
    if (!/^https?:$/.test(parsed.protocol))
      throw new ConfigError(variable, `"${item}" is not an http(s) URL`);
    return { node: node || parsed.host, url };
  });
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export interface Reader {
  /** The raw value (undefined when unset or empty), read under `name` or a deprecated alias. */
  string(name: string, deprecated?: string[]): string | undefined;
  /** A duration (Go-style string) in ms. `legacyMs` names an old integer-milliseconds variable. */
  duration(name: string, fallbackMs: number, opts?: { min?: number; legacyMs?: string }): number;
  int(name: string, fallback: number, opts?: { min?: number; deprecated?: string[] }): number;
  /** A positive finite number (fractions allowed). */
  number(name: string, fallback: number): number;
  /** Strict: true/false/1/0, anything else throws naming the variable. */
  bool(name: string, fallback: boolean): boolean;
  list(name: string, fallback?: string): string[];
  /** VAR, or the contents of the file VAR_FILE names (a mounted Secret); never logged. */
  secret(name: string): string | undefined;
  /** An http(s) URL without trailing slashes. */
  url(name: string): string | undefined;
  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T;
  /** KG_LOG_LEVEL, else KG_LOG when it is a plain level (the observer's filter may be more). */
  logLevel(fallback?: string): string;
  /** Kubeconfig file: KG_KUBECONFIG, else the standard KUBECONFIG; undefined = in-cluster. */
  kubeconfig(): string | undefined;
}

/**
 * A reader over `env`. `warn` receives one line per deprecated name in use
 * (default: stderr), so an old deployment keeps working and says what to rename.
 */
export function envReader(
  env: Env = process.env,
  warn: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8"),
): Reader {
  const raw = (name: string) => {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  const deprecatedRead = (name: string, old: string): string | undefined => {
    const v = raw(old);
    if (v !== undefined)
      warn(`${old} is deprecated and will be removed in the next release: set ${name} instead`);
    return v;
  };
  const string = (name: string, deprecated: string[] = []) => {
    const v = raw(name);
    if (v !== undefined) return v;
    for (const old of deprecated) {
      const d = deprecatedRead(name, old);
      if (d !== undefined) return d;
    }
    return undefined;
  };
  const integer = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new ConfigError(name, `"${text}" is not an integer >= ${min}`);
    return n;
  };
  const reader: Reader = {
    string,
    duration(name, fallbackMs, opts = {}) {
      const min = opts.min ?? 1;
      const text = raw(name);
      let ms: number;
      if (text !== undefined) {
        const d = parseDuration(text);
        if (d === undefined)
          throw new ConfigError(name, `"${text}" is not a duration (e.g. 250ms, 30s, 2m, 1h30m)`);
        ms = d;
      } else if (opts.legacyMs && raw(opts.legacyMs) !== undefined) {
        // The old name held integer milliseconds: read as it was.
        return integer(opts.legacyMs, deprecatedRead(name, opts.legacyMs) ?? "", min);
      } else return fallbackMs;
      if (ms < min) throw new ConfigError(name, `"${text}" is shorter than ${formatDuration(min)}`);
      return ms;
    },
    int(name, fallback, opts = {}) {
      const text = string(name, opts.deprecated);
      return text === undefined ? fallback : integer(name, text, opts.min ?? 1);
    },
    number(name, fallback) {
      const text = raw(name);
      if (text === undefined) return fallback;
      const n = Number(text);
      if (!Number.isFinite(n) || n <= 0)
        throw new ConfigError(name, `"${text}" is not a positive number`);
      return n;
    },
    bool(name, fallback) {
      const text = raw(name);
      if (text === undefined) return fallback;
      if (text === "true" || text === "1") return true;
      if (text === "false" || text === "0") return false;
      throw new ConfigError(name, `"${text}" is not a boolean (true, false, 1 or 0)`);
    },
    list: (name, fallback) => splitList(raw(name) ?? fallback),
    secret(name) {
      const file = raw(`${name}_FILE`);
      if (file === undefined) return raw(name);
      let text: string;
      try {
        text = readFile(file);
      } catch (err) {
        throw new ConfigError(
          `${name}_FILE`,
          `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return text.trim() || undefined;
    },
    url(name) {
      const text = raw(name)?.replace(/\/+$/, "");
      if (text === undefined) return undefined;
      let u: URL;
      try {
        u = new URL(text);
      } catch {
        throw new ConfigError(name, `"${text}" is not a URL`);
      }
      if (!/^https?:$/.test(u.protocol))
        throw new ConfigError(name, `"${text}" is not an http(s) URL`);
      return text;
    },
    oneOf(name, values, fallback) {
      const text = raw(name);
      if (text === undefined) return fallback;
      const v = values.find((x) => x === text);
      if (v === undefined)
        throw new ConfigError(name, `"${text}" is not one of ${values.join(", ")}`);
      return v;
    },
    logLevel(fallback = "info") {
      const level = raw("KG_LOG_LEVEL");
      if (level !== undefined) {
        if (!(LOG_LEVELS as readonly string[]).includes(level))
          throw new ConfigError(
            "KG_LOG_LEVEL",
            `"${level}" is not one of ${LOG_LEVELS.join(", ")}`,
          );
        return level;
      }
      const shared = raw("KG_LOG");
      return shared && (LOG_LEVELS as readonly string[]).includes(shared) ? shared : fallback;
    },
    kubeconfig: () => raw("KG_KUBECONFIG") ?? raw("KUBECONFIG"),
  };
  return reader;
}
