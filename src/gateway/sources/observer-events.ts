// Live observer events for /api/v1/stream: one long-lived GET /events (NDJSON)
// per observer, reconnecting with ?since=<last seq> so a dropped connection
// neither loses nor repeats events the observer still holds in its replay
// buffer. Each event is tagged with the node name from the configuration.
import type { ObserverTarget } from "../config.ts";
import type { Source, SourceStatus } from "./source.ts";

/** The observer's event envelope (observer/src/events.rs); evidence stays opaque. */
export interface ObserverEvent {
  seq: number;
  ts: string;
  tsUnixMs: number;
  node: string;
  workload: {
    kind: string;
    namespace?: string;
    pod?: string;
    container?: string;
    cgroup: string;
    [k: string]: unknown;
  };
  type: string;
  evidence: Record<string, unknown>;
}

export interface ObserverEvents extends Source {
  subscribe(fn: (e: ObserverEvent) => void): () => void;
}

export function createObserverEvents(
  observers: ObserverTarget[],
  onError?: (source: string) => void,
): ObserverEvents {
  const name = "observer-events";
  const listeners = new Set<(e: ObserverEvent) => void>();
  const state = observers.map((t) => ({
    t,
    since: undefined as number | undefined,
    connected: false,
    error: undefined as string | undefined,
  }));
  const abort = new AbortController();
  // A function, so the check after an await is not narrowed away by the type checker.
  const stopped = () => abort.signal.aborted;

  async function follow(s: (typeof state)[number]): Promise<void> {
    let backoff = 500;
    while (!stopped()) {
      try {
        const q = s.since === undefined ? "" : `?since=${s.since}`;
        const res = await fetch(`${s.t.url}/events${q}`, { signal: abort.signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        s.connected = true;
        s.error = undefined;
        backoff = 500;
        let buf = "";
        for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const e = JSON.parse(line) as ObserverEvent;
            s.since = e.seq;
            e.node = s.t.node;
            for (const fn of listeners) fn(e);
          }
        }
        throw new Error("stream ended");
      } catch (err) {
        s.connected = false;
        if (stopped()) return;
        s.error = err instanceof Error ? err.message : String(err);
        onError?.(name);
        await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }
  for (const s of state) void follow(s);

  return {
    name,
    status(): SourceStatus {
      const bad = state.filter((s) => !s.connected);
      if (bad.length === 0)
        return { name, state: "ready", message: `${state.length} observer stream(s)` };
      const msg = bad.map((s) => `${s.t.url}: ${s.error ?? "connecting"}`).join("; ");
      return { name, state: bad.some((s) => s.error) ? "degraded" : "starting", message: msg };
    },
    stop() {
      abort.abort();
      return Promise.resolve();
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
