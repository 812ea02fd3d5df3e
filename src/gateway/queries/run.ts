// Runs a validated batch: checks the limits schema validation cannot express
// (inverted or oversized ranges, too many points, duplicate refIds), then runs
// every query concurrently. A failing source fails only its own queries: each
// result carries its own status and error, and the batch still answers 200.
import type { Limits } from "../config.ts";
import type { Frame } from "../frames.ts";
import type { Query, QueryResult } from "../schemas.ts";
import { SourceError, type Filters, type RangeRequest } from "../sources/source.ts";
import { birthsFrame, selectBirths, timelineFrame } from "./births.ts";
import type { GatewayContext } from "./context.ts";
import { otlpSignalSeries } from "../otlp/signals.ts";
import { pixieFrames } from "./pixie.ts";
import { signalFrames } from "./signal.ts";
import { truthFrame } from "./truth.ts";
import { selectWhispers, whisperLogsFrame, whispersFrame } from "./whispers.ts";

/** A request the limits refuse: 400, naming the field. */
export interface LimitError {
  field: string;
  message: string;
}

const DEFAULT_POINTS = 1000;

/** The step of a query: its intervalMs, else the range spread over maxDataPoints. */
export function stepOf(q: Query, limits: Limits): number {
  const span = q.range.to - q.range.from;
  const wanted = q.intervalMs ?? Math.ceil(span / (q.maxDataPoints ?? DEFAULT_POINTS));
  return Math.max(wanted, limits.minIntervalMs);
}

export function checkLimits(queries: Query[], limits: Limits): LimitError | undefined {
  if (queries.length > limits.maxQueries) {
    return {
      field: "queries",
      message: `at most ${limits.maxQueries} queries per request, got ${queries.length}`,
    };
  }
  const seen = new Set<string>();
  for (const [i, q] of queries.entries()) {
    const at = `queries[${i}]`;
    if (seen.has(q.refId)) return { field: `${at}.refId`, message: `duplicate refId "${q.refId}"` };
    seen.add(q.refId);
    const span = q.range.to - q.range.from;
    if (span < 0) return { field: `${at}.range`, message: "range.to is before range.from" };
    if (span > limits.maxRangeMs) {
      return {
        field: `${at}.range`,
        message: `range longer than the limit of ${limits.maxRangeMs} ms`,
      };
    }
    if (q.intervalMs !== undefined && q.intervalMs < limits.minIntervalMs) {
      return {
        field: `${at}.intervalMs`,
        message: `intervalMs below the minimum of ${limits.minIntervalMs}`,
      };
    }
    if (q.maxDataPoints !== undefined && q.maxDataPoints > limits.maxDataPoints) {
      return {
        field: `${at}.maxDataPoints`,
        message: `maxDataPoints above the limit of ${limits.maxDataPoints}`,
      };
    }
    if (q.type === "pixie" && (q.script === undefined) === (q.pxl === undefined)) {
      return {
        field: `${at}.script`,
        message: "give exactly one of script (a shipped script) or pxl",
      };
    }
    if (q.type === "signal") {
      const points = Math.floor(span / stepOf(q, limits)) + 1;
      if (points > limits.maxDataPoints) {
        return {
          field: `${at}.intervalMs`,
          message: `${points} points per series exceed the limit of ${limits.maxDataPoints}: raise intervalMs or shorten the range`,
        };
      }
    }
  }
  return undefined;
}

const NO_SIGNALS = new SourceError(
  "signals",
  "no signal source configured: set KG_PROMETHEUS_URL or KG_OBSERVER_URLS",
  503,
);

function labelFilters(q: Query): Filters {
  const f = q.filters ?? {};
  return {
    namespace: f.namespace,
    pod: f.pod,
    container: f.container,
    node: f.node,
    cgroup: f.cgroup,
  };
}

async function framesOf(ctx: GatewayContext, q: Query): Promise<Frame[]> {
  const { sources, config } = ctx;
  const range: RangeRequest = {
    fromMs: q.range.from,
    toMs: q.range.to,
    stepMs: stepOf(q, config.limits),
  };
  const sel = {
    fromMs: q.range.from,
    toMs: q.range.to,
    filters: q.filters,
    maxRows: config.limits.maxRows,
  };
  switch (q.type) {
    case "signal": {
      // Pixie's numbers for the same pods, pushed over OTLP, sit beside the kernel's.
      const pushed = otlpSignalSeries(
        q.signal,
        sources.otlpSignals,
        sources.otlp,
        labelFilters(q),
        range,
        config.otlp.intervalMs,
      );
      if (!sources.signals && !pushed.length) throw NO_SIGNALS;
      return signalFrames(q.refId, q.signal, sources.signals, labelFilters(q), range, pushed);
    }
    case "truth-vs-metrics":
      if (!sources.signals) throw NO_SIGNALS;
      return [
        await truthFrame(q.refId, sources.signals, labelFilters(q), q.range.from, q.range.to),
      ];
    case "whispers": {
      const { rows, truncated } = selectWhispers(sources.whispers.list(), sel);
      const build = q.format === "logs" ? whisperLogsFrame : whispersFrame;
      return [build(q.refId, rows, truncated, config.limits.maxRows)];
    }
    case "births": {
      const { rows, truncated } = selectBirths(sources.births.list(), sel);
      const frames = [birthsFrame(q.refId, rows, truncated)];
      if (q.timeline) frames.push(...rows.map((b) => timelineFrame(q.refId, b)));
      return frames;
    }
    case "pixie": {
      const result = await sources.pixie.run(
        {
          ...(q.script ? { script: q.script } : {}),
          ...(q.pxl ? { pxl: q.pxl } : {}),
          ...(q.cluster ? { cluster: q.cluster } : {}),
        },
        range,
      );
      const def = q.script ? sources.pixie.scripts.get(q.script) : undefined;
      return pixieFrames(q.refId, result, {
        def,
        format: q.format ?? (def ? "series" : "table"),
        stepMs: range.stepMs,
        filters: q.filters,
      });
    }
  }
}

export async function runQueries(ctx: GatewayContext, queries: Query[]) {
  const results: Record<string, QueryResult> = {};
  await Promise.all(
    queries.map(async (q) => {
      try {
        results[q.refId] = { status: 200, frames: await framesOf(ctx, q) };
      } catch (err) {
        const e = err instanceof SourceError ? err : undefined;
        results[q.refId] = {
          status: e?.status ?? 500,
          frames: [],
          error: err instanceof Error ? err.message : String(err),
          ...(e ? { source: e.source } : {}),
        };
      }
    }),
  );
  return results;
}
