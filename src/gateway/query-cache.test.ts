// The Prometheus answer cache (ADR 0024) against a real Prometheus scraping a
// tiny exporter: identical questions cost one Prometheus call (sequential or in
// flight together), different step-aligned ranges cost one each, an answer
// expires after one scrape interval, a failure is not kept, the cache can be
// turned off, and a cached answer equals what Prometheus answers uncached.
// Calls are counted through onDuration, the callback behind the gateway's
// kernel_gossip_gateway_source_request_duration_seconds metric.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, test } from "node:test";
import { freePort } from "../local/runtime/cluster.ts";
import { startPrometheus, type Prometheus } from "../local/runtime/prometheus.ts";
import { METRIC } from "../shared/signals/catalogue.ts";
import { createPrometheusSource, alignRange } from "./sources/prometheus.ts";
import { createQueryCache, type CacheOutcome } from "./sources/query-cache.ts";
import type { Recipe, SignalSource } from "./sources/source.ts";
import { cleanupStack, eventually } from "../../tests/support/gateway.ts";

const cleanup = cleanupStack();
let prom: Prometheus;
const started = Date.now();
const TTL_MS = 2000; // the source's scrape interval (Prometheus scrapes every 1 s)
const STEP = 1000;
const recipe: Recipe = { kind: "rate", metric: METRIC.usageSeconds, by: [] };

function source(cache?: { maxEntries: number; maxBytes: number }) {
  const counts = { calls: 0, hit: 0, miss: 0, shared: 0, refresh: 0 };
  const s: SignalSource = createPrometheusSource({
    url: prom.url,
    scrapeIntervalMs: TTL_MS,
    ...(cache ? { cache } : {}),
    onDuration: () => counts.calls++,
    onCache: (_source: string, o: CacheOutcome) => counts[o]++,
  });
  return { s, counts };
}

before(async () => {
  const port = await freePort();
  const server: Server = createServer((_req, res) => {
    const t = (Date.now() - started) / 1000;
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(
      `# TYPE ${METRIC.usageSeconds} counter\n` +
        `${METRIC.usageSeconds}{namespace="shop",pod="checkout-0",container="app",cgroup="/kubepods/x"} ${(t * 0.25).toFixed(3)}\n`,
    );
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  cleanup.defer(() => new Promise((r) => server.close(r)));
  prom = await startPrometheus({ scrapeTargets: [`http://127.0.0.1:${port}/metrics`] });
  cleanup.defer(() => prom.stop());
  // Wait until Prometheus has a few scrapes, so answers have points.
  const probe = source({ maxEntries: 0, maxBytes: 0 }).s;
  await eventually(
    "Prometheus has scraped the exporter a few times",
    async () => {
      const now = Date.now();
      const series = await probe.evaluate(
        recipe,
        {},
        { fromMs: now - 10_000, toMs: now, stepMs: STEP },
      );
      return (series[0]?.times.length ?? 0) >= 3 ? true : undefined;
    },
    30_000,
  );
});
after(() => cleanup.run());

test("alignRange keeps every evaluation inside the range, on multiples of the step", () => {
  assert.deepEqual(alignRange(1_500, 10_200, 1000), { start: 2000, end: 10_000 });
  assert.deepEqual(alignRange(2000, 10_000, 1000), { start: 2000, end: 10_000 });
  assert.deepEqual(alignRange(1_200, 1_800, 1000), { start: 1_200, end: 1_800 }); // no multiple inside
});

test("two identical queries cost one Prometheus call and give the same answer", async () => {
  const { s, counts } = source();
  const now = Date.now();
  const range = { fromMs: now - 30_000, toMs: now, stepMs: STEP };
  const a = await s.evaluate(recipe, {}, range);
  const b = await s.evaluate(recipe, {}, range);
  assert.equal(counts.calls, 1);
  assert.deepEqual(counts, { calls: 1, hit: 1, miss: 1, shared: 0, refresh: 0 });
  assert.deepEqual(a, b);
  assert.ok(a.length === 1 && (a[0]?.times.length ?? 0) > 0);
  for (const t of a[0]?.times ?? []) {
    assert.equal(t % STEP, 0, `point at ${t} is not on a step`);
    assert.ok(t >= range.fromMs && t <= range.toMs, `point at ${t} outside the range`);
  }
  // A refresh inside the same step asks the same aligned question.
  const shifted = { ...range, fromMs: alignRange(range.fromMs, range.toMs, STEP).start - 1 };
  const c = await s.evaluate(recipe, {}, shifted);
  assert.deepEqual(c, a);
  assert.equal(counts.calls, 1);
});

test("identical queries in flight together share one call", async () => {
  const { s, counts } = source();
  const now = Date.now();
  const range = { fromMs: now - 20_000, toMs: now, stepMs: STEP };
  const answers = await Promise.all(Array.from({ length: 5 }, () => s.evaluate(recipe, {}, range)));
  assert.equal(counts.calls, 1);
  assert.equal(counts.shared, 4);
  for (const a of answers) assert.deepEqual(a, answers[0]);
});

test("different aligned ranges, steps and filters are separate calls", async () => {
  const { s, counts } = source();
  const now = Math.floor(Date.now() / 10_000) * 10_000;
  await s.evaluate(recipe, {}, { fromMs: now - 30_000, toMs: now, stepMs: STEP });
  await s.evaluate(recipe, {}, { fromMs: now - 29_000, toMs: now, stepMs: STEP });
  await s.evaluate(recipe, {}, { fromMs: now - 30_000, toMs: now - 1000, stepMs: STEP });
  await s.evaluate(recipe, {}, { fromMs: now - 30_000, toMs: now, stepMs: 2 * STEP });
  await s.evaluate(
    recipe,
    { namespace: ["shop"] },
    { fromMs: now - 30_000, toMs: now, stepMs: STEP },
  );
  assert.equal(counts.calls, 5);
  assert.equal(counts.hit, 0);
});

test("an answer expires after one scrape interval, and then matches Prometheus uncached", async () => {
  const { s, counts } = source();
  const uncached = source({ maxEntries: 0, maxBytes: 0 });
  // A window ending in the future: new scrapes change its answer.
  const now = Date.now();
  const range = { fromMs: now - 10_000, toMs: now + 60_000, stepMs: STEP };
  const first = await s.evaluate(recipe, {}, range);
  await s.evaluate(recipe, {}, range);
  assert.equal(counts.calls, 1);
  await new Promise((r) => setTimeout(r, TTL_MS + 1500));
  const fresh = await s.evaluate(recipe, {}, range);
  assert.equal(counts.calls, 2);
  assert.ok(
    (fresh[0]?.times.length ?? 0) > (first[0]?.times.length ?? 0),
    "the expired answer was served again",
  );
  const direct = await uncached.s.evaluate(recipe, {}, range);
  const again = await s.evaluate(recipe, {}, range);
  assert.equal(counts.calls, 2, "the fresh answer is cached");
  // Same question, asked while cached and uncached: the points the cache
  // serves are points Prometheus itself answers (a scrape may add one more).
  const d = direct[0];
  const g = again[0];
  assert.ok(d && g);
  g.times.forEach((t, i) => {
    const j = d.times.indexOf(t);
    assert.ok(j >= 0, `cached point at ${t} not in Prometheus' answer`);
    assert.equal(g.values[i], d.values[j]);
  });
});

test("instant queries (truth-vs-metrics) and label lookups are cached too", async () => {
  const { s, counts } = source();
  const to = Date.now();
  const a = await s.samples([METRIC.usageSeconds], {}, to - 10_000, to);
  const b = await s.samples([METRIC.usageSeconds], {}, to - 10_000, to);
  assert.deepEqual(a, b);
  assert.equal(counts.calls, 1);
  const i1 = await s.increases([METRIC.usageSeconds], {}, to - 10_000, to);
  const i2 = await s.increases([METRIC.usageSeconds], {}, to - 10_000, to);
  assert.deepEqual(i1, i2);
  assert.equal(counts.calls, 3); // two instant queries per counter, once
  assert.deepEqual(await s.labelValues("namespace", {}), ["shop"]);
  await s.labelValues("namespace", {});
  assert.ok(counts.calls <= 5); // at most one more if a scrape interval boundary passed
});

test("with the cache off every query is a Prometheus call", async () => {
  const { s, counts } = source({ maxEntries: 0, maxBytes: 0 });
  const now = Date.now();
  const range = { fromMs: now - 10_000, toMs: now, stepMs: STEP };
  await Promise.all([s.evaluate(recipe, {}, range), s.evaluate(recipe, {}, range)]);
  await s.evaluate(recipe, {}, range);
  assert.equal(counts.calls, 3);
});

test("a failed call is not cached; entries and bytes stay bounded", async () => {
  let t = 0;
  const cache = createQueryCache<string>({ maxEntries: 2, maxBytes: 100, ttlMs: 10, now: () => t });
  let loads = 0;
  const failing = () => {
    loads++;
    return Promise.reject(new Error("prometheus unreachable"));
  };
  await assert.rejects(cache.get("q", failing));
  await assert.rejects(cache.get("q", failing));
  assert.equal(loads, 2);
  const ok =
    (v: string, bytes = 10) =>
    () => {
      loads++;
      return Promise.resolve({ value: v, bytes });
    };
  assert.equal(await cache.get("a", ok("A")), "A");
  assert.equal(await cache.get("b", ok("B")), "B");
  assert.equal(await cache.get("a", ok("A2")), "A"); // hit; a is now the most recent
  assert.equal(await cache.get("c", ok("C")), "C"); // evicts b, the least recent
  assert.equal(cache.size, 2);
  assert.equal(await cache.get("b", ok("B2")), "B2");
  assert.equal(await cache.get("big", ok("X", 60)), "X"); // over a quarter of the bytes: not kept
  assert.equal(await cache.get("big", ok("X2", 60)), "X2");
  t = 10;
  assert.equal(await cache.get("b", ok("B3")), "B3"); // expired
  assert.ok(cache.bytes <= 100);
});

test("a hit late in an answer's life renews it in the background, never serving past its lifetime", async () => {
  let t = 0;
  const outcomes: string[] = [];
  const cache = createQueryCache<string>({
    maxEntries: 10,
    maxBytes: 1000,
    ttlMs: 100,
    now: () => t,
    onOutcome: (o) => outcomes.push(o),
  });
  let n = 0;
  let release: (() => void) | undefined;
  const load = () => {
    const v = `answer ${++n}`;
    return new Promise<{ value: string; bytes: number }>((r) => {
      release = () => r({ value: v, bytes: 1 });
    });
  };
  const first = cache.get("q", load);
  release?.();
  assert.equal(await first, "answer 1");
  t = 50;
  assert.equal(await cache.get("q", load), "answer 1"); // young: no refresh
  t = 80;
  assert.equal(await cache.get("q", load), "answer 1"); // old: served, renewed behind
  assert.equal(n, 2);
  t = 100; // answer 1 expired, the renewal still in flight: callers wait for it
  const waiting = cache.get("q", load);
  release?.();
  assert.equal(await waiting, "answer 2");
  t = 150; // answer 2 was asked for at t=80: valid until 180
  assert.equal(await cache.get("q", load), "answer 2");
  assert.equal(n, 2);
  t = 180; // expired: asked again
  const again = cache.get("q", load);
  release?.();
  assert.equal(await again, "answer 3");
  assert.deepEqual(outcomes, ["miss", "hit", "hit", "refresh", "shared", "hit", "miss"]);
});
