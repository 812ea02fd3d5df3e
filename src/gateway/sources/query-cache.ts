// A small cache for Prometheus HTTP answers (ADR 0024): the exact request
// (path + parameters) is the key, an answer lives for one scrape interval (a
// sample cannot change faster than Prometheus scrapes), entries and bytes are
// bounded (least recently used goes first), and identical calls in flight share
// one Prometheus request. Only successful answers are kept; a failure is never
// cached, so the next call asks Prometheus again. A hit on an answer in the last
// quarter of its life also asks again in the background (refresh-ahead), so a
// busy key is renewed before it expires instead of making callers wait; the
// old answer is still never served past its lifetime.

export type CacheOutcome = "hit" | "miss" | "shared" | "refresh";

export interface QueryCacheOptions {
  /** Most entries kept; 0 turns the cache (and the sharing of in-flight calls) off. */
  maxEntries: number;
  /** Most bytes of answers kept (by the size of the JSON Prometheus sent). */
  maxBytes: number;
  /** How long an answer is served, counted from when its request was sent. */
  ttlMs: number;
  now?: () => number;
  onOutcome?: (outcome: CacheOutcome) => void;
}

interface Entry<T> {
  value: T;
  bytes: number;
  /** When the request that produced the value was sent. */
  at: number;
}

export interface QueryCache<T> {
  /** The cached answer for `key`, or `load()`'s (shared with identical calls in flight). */
  get(key: string, load: () => Promise<{ value: T; bytes: number }>): Promise<T>;
  readonly size: number;
  readonly bytes: number;
  clear(): void;
}

export function createQueryCache<T>(opts: QueryCacheOptions): QueryCache<T> {
  const now = opts.now ?? Date.now;
  const entries = new Map<string, Entry<T>>(); // insertion order = recency (LRU)
  const inflight = new Map<string, Promise<T>>();
  let bytes = 0;
  const enabled = opts.maxEntries > 0 && opts.maxBytes > 0 && opts.ttlMs > 0;

  const drop = (key: string) => {
    const e = entries.get(key);
    if (!e) return;
    bytes -= e.bytes;
    entries.delete(key);
  };

  function store(key: string, e: Entry<T>) {
    drop(key);
    if (e.bytes > opts.maxBytes / 4) return; // one huge answer must not flush the rest
    entries.set(key, e);
    bytes += e.bytes;
    for (const oldest of entries.keys()) {
      if (entries.size <= opts.maxEntries && bytes <= opts.maxBytes) break;
      drop(oldest);
    }
  }

  return {
    get size() {
      return entries.size;
    },
    get bytes() {
      return bytes;
    },
    clear() {
      entries.clear();
      bytes = 0;
    },
    async get(key, load) {
      if (!enabled) return (await load()).value;
      const e = entries.get(key);
      if (e) {
        const age = now() - e.at;
        if (age < opts.ttlMs) {
          entries.delete(key); // refresh recency
          entries.set(key, e);
          opts.onOutcome?.("hit");
          if (age >= opts.ttlMs * 0.75 && !inflight.has(key)) {
            opts.onOutcome?.("refresh");
            fetchOnce(key, load).catch(() => undefined); // the caller already has its answer
          }
          return e.value;
        }
        drop(key);
      }
      const pending = inflight.get(key);
      if (pending) {
        opts.onOutcome?.("shared");
        return pending;
      }
      opts.onOutcome?.("miss");
      return fetchOnce(key, load);
    },
  };

  function fetchOnce(key: string, load: () => Promise<{ value: T; bytes: number }>): Promise<T> {
    const at = now();
    const p = load().then(
      (r) => {
        inflight.delete(key);
        store(key, { value: r.value, bytes: r.bytes, at });
        return r.value;
      },
      (err: unknown) => {
        inflight.delete(key);
        throw err;
      },
    );
    inflight.set(key, p);
    return p;
  }
}
