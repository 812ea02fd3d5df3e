// Signals through the Prometheus HTTP API, the normal cluster setup where
// Prometheus scrapes the observers. Recipes become PromQL; NaN and missing
// steps are dropped, so a gap in Prometheus stays a gap in the frame.
import { METRIC_PREFIX, WORKLOAD_LABELS } from "../../shared/signals/catalogue.ts";
import { rateWindowMs } from "../signals.ts";
import { pick } from "../series-math.ts";
import { FILTER_KEYS } from "../filters.ts";
import { createQueryCache, type CacheOutcome } from "./query-cache.ts";
import {
  SourceError,
  type Filters,
  type RangeRequest,
  type RawSeries,
  type Recipe,
  type Series,
  type SignalSource,
  type SourceStatus,
} from "./source.ts";

interface PromResult {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

interface PromResponse {
  status: "success" | "error";
  data?: { resultType: string; result: PromResult[] } | string[];
  error?: string;
}

export interface PrometheusOptions {
  url: string;
  scrapeIntervalMs: number;
  timeoutMs?: number;
  onError?: (source: string) => void;
  /** Called with the source name and seconds for every Prometheus HTTP call. */
  onDuration?: (source: string, seconds: number) => void;
  /**
   * Answer cache (ADR 0024): most entries (0 = off) and bytes kept. An answer
   * lives for one scrape interval; identical calls in flight share one request.
   */
  cache?: { maxEntries: number; maxBytes: number };
  /** Called with the source name and the cache's outcome for every API call. */
  onCache?: (source: string, outcome: CacheOutcome) => void;
}

/**
 * The evaluation range of a range query, aligned to the step: the first and
 * last multiple of the step inside [fromMs, toMs], so refreshes of a moving
 * window ask Prometheus the same question (and hit the cache) until a new step
 * begins. Every point stays inside the requested range. A range holding no
 * multiple of the step is kept as asked.
 */
export function alignRange(fromMs: number, toMs: number, stepMs: number) {
  const start = Math.ceil(fromMs / stepMs) * stepMs;
  const end = Math.floor(toMs / stepMs) * stepMs;
  return start <= end ? { start, end } : { start: fromMs, end: toMs };
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const quote = (s: string) => JSON.stringify(s); // PromQL strings accept JSON escapes

/** Label matchers for the filters: `namespace=~"a|b"` (PromQL regexes are anchored). */
export function matchers(f: Filters): string[] {
  const out: string[] = [];
  for (const k of FILTER_KEYS) {
    const values = f[k];
    if (values?.length) out.push(`${k}=~${quote(values.map(escapeRegex).join("|"))}`);
  }
  return out;
}

const selector = (metric: string, f: Filters) => `${metric}{${matchers(f).join(",")}}`;

/** The PromQL for a recipe, one expression per output (quantiles give several). */
export function promql(
  recipe: Recipe,
  f: Filters,
  windowMs: number,
  stepMs: number,
): { expr: string; extra?: Record<string, string> }[] {
  const w = `[${windowMs}ms]`;
  const by = (extra: string[] = []) => `by (${[...WORKLOAD_LABELS, ...extra].join(",")})`;
  switch (recipe.kind) {
    case "rate":
      return [{ expr: `sum ${by(recipe.by)} (rate(${selector(recipe.metric, f)}${w}))` }];
    case "increase":
      // Per step, as recipes.ts computes it: the window's rate times the step (window
      // increases overlap, so summing them over a range would overcount).
      return [
        {
          expr: `sum ${by(recipe.by)} (rate(${selector(recipe.metric, f)}${w})) * ${stepMs / 1000}`,
        },
      ];
    case "ratio":
      return [
        {
          expr: `sum ${by()} (rate(${selector(recipe.num, f)}${w})) / sum ${by()} (rate(${selector(recipe.den, f)}${w}))`,
        },
      ];
    case "usageOfLimit":
      return [
        {
          expr: `100 * sum ${by()} (rate(${selector(recipe.usage, f)}${w})) / sum ${by()} (last_over_time(${selector(recipe.limit, f)}${w}))`,
        },
      ];
    case "quantiles":
      return recipe.quantiles.map((q) => ({
        expr: `histogram_quantile(${q}, sum ${by(["le"])} (rate(${selector(`${recipe.histogram}_bucket`, f)}${w})))`,
        extra: { quantile: String(q) },
      }));
  }
}

export function createPrometheusSource(opts: PrometheusOptions): SignalSource {
  const name = "prometheus";
  let lastError: string | undefined;
  let lastOk = false;

  const cache = createQueryCache<PromResponse>({
    maxEntries: opts.cache?.maxEntries ?? 1000,
    maxBytes: opts.cache?.maxBytes ?? 64 * 1024 * 1024,
    ttlMs: opts.scrapeIntervalMs,
    onOutcome: (outcome) => opts.onCache?.(name, outcome),
  });

  // POST keeps long PromQL out of URLs; the label-values endpoint only takes GET.
  // The exact request is the cache key; answers are shared, so never mutated.
  function api(
    path: string,
    params: Record<string, string | string[]>,
    method: "GET" | "POST" = "POST",
  ): Promise<PromResponse> {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      for (const item of Array.isArray(v) ? v : [v]) form.append(k, item);
    }
    return cache.get(`${method} ${path}?${form.toString()}`, () => call(path, form, method));
  }

  async function call(
    path: string,
    form: URLSearchParams,
    method: "GET" | "POST",
  ): Promise<{ value: PromResponse; bytes: number }> {
    let res: Response;
    const started = performance.now();
    try {
      const url = method === "GET" ? `${opts.url}${path}?${form.toString()}` : `${opts.url}${path}`;
      res = await fetch(url, {
        method,
        // Loopback: decompressing gzip costs more CPU than the bytes it saves.
        headers: { "accept-encoding": "identity" },
        ...(method === "POST" ? { body: form } : {}),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      });
    } catch (err) {
      lastError = `unreachable: ${err instanceof Error ? err.message : String(err)}`;
      opts.onError?.(name);
      throw new SourceError(name, `prometheus ${lastError}`);
    }
    const text = await res.text().catch(() => "");
    let json: PromResponse | undefined;
    try {
      json = JSON.parse(text) as PromResponse;
    } catch {
      json = undefined;
    }
    opts.onDuration?.(name, (performance.now() - started) / 1000);
    if (!res.ok || json?.status !== "success") {
      lastError = json?.error ?? `HTTP ${res.status}`;
      opts.onError?.(name);
      throw new SourceError(
        name,
        `prometheus: ${lastError}`,
        res.status === 400 || res.status === 422 ? 400 : 502,
      );
    }
    lastOk = true;
    lastError = undefined;
    return { value: json, bytes: text.length };
  }

  /** Labels a workload is known by: not Prometheus' own job/instance/__name__. */
  const strip = (l: Record<string, string>) =>
    pick(
      l,
      Object.keys(l).filter((k) => !["__name__", "job", "instance"].includes(k)),
    );

  // What a method makes of an answer depends only on that answer (and the
  // request, which is its cache key), so it is made once per answer and shared
  // by every hit: frozen, since several requests read it.
  const derived = new WeakMap<object, WeakMap<object, unknown>>();
  function once<T extends object>(answers: [PromResponse, PromResponse?], make: () => T[]): T[] {
    const [a, b = a] = answers;
    let inner = derived.get(a);
    if (!inner) derived.set(a, (inner = new WeakMap()));
    let out = inner.get(b) as T[] | undefined;
    if (!out) {
      out = make();
      for (const item of out) {
        for (const v of Object.values(item)) if (typeof v === "object" && v) Object.freeze(v);
        Object.freeze(item);
      }
      inner.set(b, out);
    }
    return [...out];
  }

  const results = (r: PromResponse) => (r.data && !Array.isArray(r.data) ? r.data.result : []);

  return {
    name,
    status(): SourceStatus {
      if (lastError) return { name, state: "degraded", message: lastError };
      return { name, state: lastOk ? "ready" : "starting", message: opts.url };
    },
    stop: () => Promise.resolve(),
    async evaluate(recipe, f, range: RangeRequest) {
      const win = rateWindowMs(range.stepMs, opts.scrapeIntervalMs);
      const exprs = promql(recipe, f, win, range.stepMs);
      const { start, end } = alignRange(range.fromMs, range.toMs, range.stepMs);
      const answers = await Promise.all(
        exprs.map(({ expr }) =>
          api("/api/v1/query_range", {
            query: expr,
            start: String(start / 1000),
            end: String(end / 1000),
            step: String(range.stepMs / 1000),
          }),
        ),
      );
      return answers.flatMap((a, i) =>
        once([a], () => {
          const out: Series[] = [];
          for (const r of results(a)) {
            const s: Series = {
              labels: {
                ...pick(
                  r.metric,
                  Object.keys(r.metric).filter((k) => k !== "__name__"),
                ),
                ...exprs[i]?.extra,
              },
              times: [],
              values: [],
            };
            for (const [t, v] of r.values ?? []) {
              const n = Number(v);
              if (!Number.isFinite(n)) continue; // NaN (e.g. 0/0): no point
              s.times.push(Math.round(t * 1000));
              s.values.push(n);
            }
            if (s.times.length) out.push(s);
          }
          return out;
        }),
      );
    },
    async samples(metrics, f, fromMs, toMs) {
      const names = metrics.map(escapeRegex).join("|");
      const sel = [`__name__=~${quote(names)}`, ...matchers(f)].join(",");
      const a = await api("/api/v1/query", {
        query: `{${sel}}[${Math.max(1, toMs - fromMs)}ms]`,
        time: String(toMs / 1000),
      });
      return once([a], () =>
        results(a).map((r): RawSeries => ({
          metric: r.metric.__name__ ?? "",
          labels: strip(r.metric),
          times: (r.values ?? []).map(([t]) => Math.round(t * 1000)),
          values: (r.values ?? []).map(([, v]) => Number(v)),
        })),
      );
    },
    async increases(metrics, f, fromMs, toMs) {
      // max - min of a counter is last - first when it did not reset; a series
      // that reset (or has one reading) gets no value rather than a wrong one.
      const w = `[${Math.max(1, toMs - fromMs)}ms]`;
      const time = String(toMs / 1000);
      const per = await Promise.all(
        metrics.map(async (m) => {
          const sel = selector(m, f);
          const [span, usable] = await Promise.all([
            api("/api/v1/query", {
              query: `max_over_time(${sel}${w}) - min_over_time(${sel}${w})`,
              time,
            }),
            api("/api/v1/query", {
              query: `count_over_time(${sel}${w}) * (resets(${sel}${w}) == bool 0)`,
              time,
            }),
          ]);
          return once([span, usable], () => {
            const key = (l: Record<string, string>) => JSON.stringify(strip(l));
            const ok = new Set(
              results(usable)
                .filter((r) => Number(r.value?.[1]) >= 2)
                .map((r) => key(r.metric)),
            );
            return results(span).map((r) => ({
              metric: m,
              labels: strip(r.metric),
              increase: ok.has(key(r.metric)) ? Number(r.value?.[1]) : undefined,
            }));
          });
        }),
      );
      return per.flat();
    },
    async labelValues(label, f) {
      const a = await api(
        `/api/v1/label/${encodeURIComponent(label)}/values`,
        {
          "match[]": `{__name__=~"${METRIC_PREFIX}.+",${matchers(f).join(",")}}`.replace(",}", "}"),
          // Aligned to the scrape interval, so lookups within one interval share an answer.
          start: String(
            (Math.floor((Date.now() - 6 * 3_600_000) / opts.scrapeIntervalMs) *
              opts.scrapeIntervalMs) /
              1000,
          ),
        },
        "GET",
      );
      return Array.isArray(a.data) ? a.data.filter(Boolean).sort() : [];
    },
  };
}
