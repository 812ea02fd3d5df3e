// Right-sizing and verification, the pure parts (ADR 0090, 0091): the demand
// formula on the shapes cpu.stat takes for a bursty, a spinning and an idle
// container; confidence and "too thin"; the usage-only contrast; the bounded
// store; the observer /metrics parser; the verdict on before/after.
import assert from "node:assert/strict";
import { test } from "node:test";
import { METRIC, OBSERVER_METRICS } from "../../shared/signals/catalogue.ts";
import { demandCores, measure, percentile, recommend, type Sample } from "./method.ts";
import { parseMetrics } from "./observer-metrics.ts";
import { merge, newStore, observe, samplesOf, type Counters } from "./store.ts";
import { verdict } from "./verify.ts";

const cfg = {
  windowMs: 60_000,
  sampleMs: 1_000,
  cfsPeriodSeconds: 0.1,
  margin: 0.15,
  percentile: 0.95,
};

const zero = {
  runqueueSeconds: 0,
  reclaimSeconds: 0,
  memoryStallSeconds: 0,
  oomKills: 0,
};

// `demo throttle` under 200m: two workers burst 40 ms of CPU each at once every
// second; the quota (20 ms per 100 ms period) spreads the 80 ms over four periods,
// three of them throttled, each worker held ~80 ms in each.
const bursty = (endMs: number): Sample => ({
  endMs,
  seconds: 1,
  usage: 0.08,
  periods: 4,
  throttled: 3,
  throttledSeconds: 0.48,
  limitCores: 0.2,
  ...zero,
});

test("demand: a burst the quota spread over periods is the CPU of its completing period", () => {
  // 0.08 s / (1 unthrottled period × 0.1 s) = 0.8 cores: the burst's 80 ms in one period.
  assert.ok(Math.abs(demandCores(bursty(0), 0.1) - 0.8) < 1e-9);
  // A spinner never completes a period: bounded by what it had runnable per period.
  const spin = { ...bursty(0), usage: 0.2, periods: 10, throttled: 10, throttledSeconds: 0.8 };
  assert.ok(Math.abs(demandCores(spin, 0.1) - 1) < 1e-9);
  // Unthrottled: used plus waited for a CPU.
  const calm = { ...bursty(0), throttled: 0, throttledSeconds: 0, runqueueSeconds: 0.01 };
  assert.ok(Math.abs(demandCores(calm, 0.1) - 0.09) < 1e-9);
});

test("bursty container: raise to demand + margin, far above the usage percentiles", () => {
  const samples = Array.from({ length: 60 }, (_, i) => bursty(1_000 * (i + 1)));
  const r = recommend(samples, cfg, 60_000, { cpuCores: 0.2 });
  assert.equal(r.confidence, "high");
  assert.equal(r.thin, undefined);
  assert.equal(r.cpu.limitCores, 0.92);
  assert.equal(r.cpu.krrCores, 0.08);
  assert.equal(r.cpu.vpaCores, 0.092);
  assert.equal(r.evidence.throttledShare, 0.75);
  assert.match(r.cpu.rationale, /raise the CPU limit 200m → 920m/);
  assert.match(r.cpu.rationale, /usage-only percentile would say 92m/);
});

test("a container whose limit holds its demand gets no raise", () => {
  const samples = Array.from({ length: 60 }, (_, i) => ({
    ...bursty(1_000 * (i + 1)),
    throttled: 0,
    throttledSeconds: 0,
  }));
  const r = recommend(samples, cfg, 60_000, { cpuCores: 0.2 });
  assert.equal(r.cpu.limitCores, undefined);
  assert.match(r.cpu.rationale, /holds the demand/);
});

test("too thin: little of the window covered, or an idle container", () => {
  const few = Array.from({ length: 8 }, (_, i) => bursty(60_000 - i * 1_000));
  const r = recommend(few, cfg, 60_000, { cpuCores: 0.2 });
  assert.equal(r.confidence, "insufficient");
  assert.match(r.thin ?? "", /too thin to recommend: 8 s of samples cover 13\.3 %/);
  assert.equal(r.cpu.limitCores, undefined);
  const idle = Array.from({ length: 60 }, (_, i) => ({
    ...bursty(1_000 * (i + 1)),
    usage: i < 3 ? 0.01 : 0,
    periods: i < 3 ? 1 : 0,
    throttled: 0,
    throttledSeconds: 0,
  }));
  const r2 = recommend(idle, cfg, 60_000, { cpuCores: 0.2 });
  assert.equal(r2.confidence, "high");
  assert.match(r2.cpu.rationale, /too thin: the container ran in 3 intervals/);
  // Samples older than the window do not count.
  const old = Array.from({ length: 60 }, (_, i) => bursty(1_000 * (i + 1)));
  assert.equal(recommend(old, cfg, 200_000, { cpuCores: 0.2 }).confidence, "insufficient");
});

test("memory: OOM kills and stalls raise the limit; a working set sizes it; else says why not", () => {
  const mk = (extra: Partial<Sample>) =>
    Array.from({ length: 60 }, (_, i) => ({ ...bursty(1_000 * (i + 1)), ...extra }));
  const mib = 2 ** 20;
  const oom = recommend(mk({ oomKills: 1 }), cfg, 60_000, { memoryBytes: 64 * mib });
  assert.equal(oom.memory.limitBytes, 80 * mib);
  assert.match(oom.memory.rationale, /60 OOM kills/);
  const stalled = recommend(mk({ reclaimSeconds: 0.05 }), cfg, 60_000, { memoryBytes: 100 * mib });
  assert.equal(stalled.memory.limitBytes, Math.ceil(115 * mib));
  const ws = recommend(mk({ workingSetBytes: 40 * mib }), cfg, 60_000, { memoryBytes: 100 * mib });
  assert.equal(ws.memory.limitBytes, Math.ceil(46 * mib));
  const none = recommend(mk({}), cfg, 60_000, { memoryBytes: 100 * mib });
  assert.equal(none.memory.limitBytes, undefined);
  assert.match(none.memory.rationale, /no working-set series/);
});

test("percentile is nearest-rank", () => {
  assert.equal(percentile([], 0.95), undefined);
  assert.equal(percentile([3, 1, 2], 0.5), 2);
  assert.equal(
    percentile(
      [...Array(100).keys()].map((i) => i + 1),
      0.95,
    ),
    95,
  );
});

const counters = (n: number): Counters => ({
  usage: 0.08 * n,
  periods: 4 * n,
  throttled: 3 * n,
  throttledSeconds: 0.48 * n,
  runqueueSeconds: 0,
  reclaimSeconds: 0,
  memoryStallSeconds: 0,
  oomKills: 0,
  limitCores: 0.2,
});

test("store: growth between scrapes, resets start over, bounded by window and capacity", () => {
  const st = newStore(60_000, 8, 2);
  observe(st, "a", counters(0), 0);
  for (let i = 1; i <= 20; i++) observe(st, "a", counters(i), i * 1_000);
  const got = samplesOf(st, "a", 0, 20_000);
  // 20 samples halved at 9: capacity holds; sums stay exact.
  assert.ok(got.length <= 8, `${got.length}`);
  assert.ok(Math.abs(measure(got).usageCores - 0.08) < 1e-9);
  assert.equal(measure(got).throttledShare, 0.75);
  assert.equal(
    got.reduce((a, s) => a + s.seconds, 0),
    20,
  );
  // A counter going down (a new cgroup) is a new baseline, not a negative sample.
  observe(st, "a", counters(1), 21_000);
  assert.equal(samplesOf(st, "a", 0, 22_000).length, got.length);
  // At most two containers: the least recently updated goes.
  observe(st, "b", counters(0), 22_000);
  observe(st, "c", counters(0), 23_000);
  assert.deepEqual([...st.tracks.keys()].sort(), ["b", "c"]);
  // Older than the window: dropped.
  observe(st, "b", counters(1), 100_000);
  assert.equal(samplesOf(st, "b", 0, 200_000).length, 1);
  const m = merge(bursty(1_000), { ...bursty(2_000), workingSetBytes: 5 });
  assert.equal(m.seconds, 2);
  assert.equal(m.periods, 8);
  assert.equal(m.endMs, 2_000);
  assert.equal(m.workingSetBytes, 5);
});

test("observer /metrics: counters per container, some-stall only, cgroup series skipped", () => {
  const app = '{namespace="ns",pod="p",container="app"}';
  const text = [
    `# TYPE ${OBSERVER_METRICS.usageSeconds.metadata} counter`,
    `${METRIC.usageSeconds}${app} 1.5`,
    `${METRIC.periods}${app} 40`,
    `${METRIC.throttledPeriods}${app} 30`,
    `${METRIC.throttledSeconds}${app} 4.8`,
    `${METRIC.limitCores}${app} 0.2`,
    `${METRIC.runqueue}_sum${app} 0.25`,
    `${METRIC.runqueue}_bucket{namespace="ns",pod="p",container="app",le="0.001"} 3`,
    `${METRIC.memoryStall}{namespace="ns",pod="p",container="app",kind="some"} 2`,
    `${METRIC.memoryStall}{namespace="ns",pod="p",container="app",kind="full"} 1`,
    `${METRIC.usageSeconds}{cgroup="/system.slice"} 99`,
    "# EOF",
  ].join("\n");
  const m = parseMetrics(text);
  assert.deepEqual([...m.keys()], ["ns/p/app"]);
  assert.deepEqual(m.get("ns/p/app"), {
    usage: 1.5,
    periods: 40,
    throttled: 30,
    throttledSeconds: 4.8,
    runqueueSeconds: 0.25,
    reclaimSeconds: 0,
    memoryStallSeconds: 2,
    oomKills: 0,
    limitCores: 0.2,
  });
});

const m = (o: Partial<ReturnType<typeof measure>>) => ({
  ...measure([]),
  samples: 30,
  seconds: 30,
  ...o,
});

test("verdict: a CPU change must lower throttling or delay, and make nothing worse", () => {
  const helped = verdict("cpu", m({ throttledShare: 0.75 }), m({ throttledShare: 0.05 }));
  assert.equal(helped.improved, true);
  assert.match(helped.reason, /throttled share 0\.750 → 0\.050/);
  const nothing = verdict("cpu", m({}), m({}));
  assert.equal(nothing.improved, false);
  assert.match(nothing.reason, /did not go down by at least 20 %/);
  // Less throttling, more waiting for a CPU: the time moved, it is not a slowdown…
  const moved = verdict(
    "cpu",
    m({ throttledShare: 0.5, throttledSecondsPerSecond: 0.3, runqueueDelaySecondsPerSecond: 0.01 }),
    m({ throttledShare: 0.1, throttledSecondsPerSecond: 0.05, runqueueDelaySecondsPerSecond: 0.2 }),
  );
  assert.equal(moved.improved, true, moved.reason);
  // …but waiting that grows by more than 50 ms/s overall is.
  const worse = verdict(
    "cpu",
    m({ throttledShare: 0.5, runqueueDelaySecondsPerSecond: 0.01 }),
    m({ throttledShare: 0.1, runqueueDelaySecondsPerSecond: 0.1 }),
  );
  assert.equal(worse.improved, false);
  assert.match(worse.reason, /run-queue delay got worse/);
  const small = verdict("cpu", m({ throttledShare: 0.75 }), m({ throttledShare: 0.7 }));
  assert.equal(small.improved, false);
  // A few ms/s less waiting is noise (a sleeping container in CI), tens of ms/s is not.
  const noise = verdict(
    "cpu",
    m({ runqueueDelaySecondsPerSecond: 0.0055 }),
    m({ runqueueDelaySecondsPerSecond: 0.0018 }),
  );
  assert.equal(noise.improved, false, noise.reason);
  const waited = verdict(
    "cpu",
    m({ runqueueDelaySecondsPerSecond: 0.05 }),
    m({ runqueueDelaySecondsPerSecond: 0.01 }),
  );
  assert.equal(waited.improved, true, waited.reason);
  const empty = verdict("cpu", m({ throttledShare: 0.75 }), { ...m({}), samples: 0 });
  assert.match(empty.reason, /no kernel samples after the change/);
  const mem = verdict("memory", m({ oomKills: 3 }), m({ oomKills: 0 }));
  assert.equal(mem.improved, true);
});
