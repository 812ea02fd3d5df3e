// One observer's /events stream (NDJSON). Reconnects with exponential backoff
// and resumes with ?since=<last seq>, so events published while disconnected
// arrive from the observer's replay buffer. Lines that do not match the event
// schema are counted and skipped, never fatal.
import { Value } from "@sinclair/typebox/value";
import { ObserverEventSchema, type ObserverEvent } from "../../shared/model/observer-events.ts";
import type { Log } from "../log.ts";
import type { OperatorMetrics } from "../metrics.ts";

export interface StreamDeps {
  log: Log;
  metrics: OperatorMetrics;
  onEvent: (ev: ObserverEvent) => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface ObserverStream {
  url: string;
  /** Sequence number of the last event received (resume point). */
  lastSeq: () => number | undefined;
  stop: () => void;
}

/**
 * One /events line: validated against the event schema, counted, and handed to
 * `onEvent`. The stream calls this for every line; tests feed lines through it
 * too, so they take exactly the path the observer's events take.
 */
export function handleObserverLine(
  line: string,
  deps: Pick<StreamDeps, "metrics" | "onEvent">,
): ObserverEvent | undefined {
  if (!line.trim()) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    deps.metrics.observerEvents.inc({ type: "unknown", outcome: "malformed" });
    return undefined;
  }
  if (!Value.Check(ObserverEventSchema, parsed)) {
    const type = (parsed as { type?: unknown }).type;
    deps.metrics.observerEvents.inc({
      type: typeof type === "string" ? type.slice(0, 32) : "unknown",
      outcome: "invalid",
    });
    return undefined;
  }
  deps.metrics.observerEvents.inc({ type: parsed.type, outcome: "ok" });
  deps.onEvent(parsed);
  return parsed;
}

export function observerStream(url: string, deps: StreamDeps): ObserverStream {
  const minBackoff = deps.minBackoffMs ?? 500;
  const maxBackoff = deps.maxBackoffMs ?? 30_000;
  const abort = new AbortController();
  let since: number | undefined;
  let backoff = minBackoff;

  const handleLine = (line: string) => {
    const ev = handleObserverLine(line, deps);
    if (ev) since = ev.seq;
  };

  const connect = async () => {
    const target = `${url}/events${since !== undefined ? `?since=${since}` : ""}`;
    const res = await fetch(target, { signal: abort.signal });
    if (!res.ok || !res.body) throw new Error(`GET ${target}: HTTP ${res.status}`);
    deps.log.info({ observer: url, since }, "observer stream connected");
    deps.metrics.observerStreams.inc();
    backoff = minBackoff;
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of res.body) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          handleLine(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
      }
    } finally {
      deps.metrics.observerStreams.dec();
    }
  };

  void (async () => {
    // A function, not the property: stop() aborts while connect() is awaited.
    const stopped = () => abort.signal.aborted;
    while (!stopped()) {
      try {
        await connect();
        deps.log.warn({ observer: url }, "observer stream ended; reconnecting");
      } catch (err) {
        if (stopped()) break;
        deps.log.warn({ observer: url, err: String(err), retryMs: backoff }, "observer stream failed");
      }
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  })();

  return { url, lastSeq: () => since, stop: () => abort.abort() };
}
