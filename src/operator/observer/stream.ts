// One observer's /events stream (NDJSON). Reconnects with exponential backoff
// and resumes with ?since=<last seq>, so events published while disconnected
// arrive from the observer's replay buffer. Sequence numbers belong to one
// observer run (its instance id, ADR 0075): when the instance changed — the
// observer restarted — the stream starts over from the beginning of what the
// new run holds (?since=0), and sequence numbers skipped either way are
// counted as gaps. Lines that do not match the event schema are counted and
// skipped, never fatal.
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
  /** The observer run the sequence numbers belong to, once known. */
  instance: () => string | undefined;
  stop: () => void;
}

/** Response headers of /events (observer/src/http.rs): the observer run, and its last seq so far. */
export const INSTANCE_HEADER = "kernel-gossip-instance";
export const LAST_SEQ_HEADER = "kernel-gossip-last-seq";

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
  let instance: string | undefined;
  let backoff = minBackoff;
  /** The next sequence number expected, when continuity is known. */
  let expected: number | undefined;

  const handleLine = (line: string) => {
    const ev = handleObserverLine(line, deps);
    if (!ev) return;
    if (expected !== undefined && ev.seq > expected) {
      deps.metrics.observerGaps.inc({ observer: url }, ev.seq - expected);
      deps.log.warn(
        { observer: url, missed: ev.seq - expected, from: expected, to: ev.seq - 1 },
        "observer events missed (older than its replay buffer)",
      );
    }
    expected = ev.seq + 1;
    since = ev.seq;
  };

  /** True when connected to a new observer run: the caller reconnects from its start. */
  const connect = async (): Promise<boolean> => {
    const target = `${url}/events${since !== undefined ? `?since=${since}` : ""}`;
    const conn = new AbortController();
    const stopConn = () => conn.abort();
    abort.signal.addEventListener("abort", stopConn);
    try {
      const res = await fetch(target, { signal: conn.signal });
      if (!res.ok || !res.body) throw new Error(`GET ${target}: HTTP ${res.status}`);
      const run = res.headers.get(INSTANCE_HEADER) ?? undefined;
      if (run !== undefined && instance !== undefined && run !== instance) {
        // Its sequence numbers restarted: ?since=<ours> would skip its first events.
        deps.metrics.observerRestarts.inc({ observer: url });
        deps.log.warn(
          { observer: url, was: instance, now: run, since },
          "observer restarted; replaying from the start of what it holds",
        );
        instance = run;
        since = 0;
        expected = 1;
        conn.abort();
        return true;
      }
      if (run !== undefined) instance = run;
      // A live-only start resumes, after a disconnect, from what the observer had published then.
      const last = Number(res.headers.get(LAST_SEQ_HEADER) ?? NaN);
      if (since === undefined && Number.isInteger(last) && last >= 0) since = last;
      expected = since !== undefined ? since + 1 : undefined;
      await read(res.body, since);
      return false;
    } finally {
      abort.signal.removeEventListener("abort", stopConn);
    }
  };

  const read = async (body: ReadableStream<Uint8Array>, from: number | undefined) => {
    deps.log.info({ observer: url, since: from, instance }, "observer stream connected");
    deps.metrics.observerStreams.inc();
    backoff = minBackoff;
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of body) {
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
        if (await connect()) continue; // a new observer run: replay it at once
        deps.log.warn({ observer: url }, "observer stream ended; reconnecting");
      } catch (err) {
        if (stopped()) break;
        deps.log.warn({ observer: url, err: String(err), retryMs: backoff }, "observer stream failed");
      }
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  })();

  return { url, lastSeq: () => since, instance: () => instance, stop: () => abort.abort() };
}
