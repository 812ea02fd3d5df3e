// Both right-sizing histories against the kernel (ADR 0090): a busy loop the
// kernel throttles in a cgroup laid out like kubelet's (the observer, without
// API access, labels it by pod UID and short container id), read by the real
// observer; the operator's own sampler reads the observer's /metrics, a real
// Prometheus scrapes it. The growth each history records must match cpu.stat
// as this test reads it over the same span, and both must recommend more than
// the quota while usage-only percentiles stay at it. Root (BPF, cgroups).
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { containerId, cpuCgroup, type CpuCgroup } from "../../../tests/env/cgroup.ts";
import { METRIC } from "../../shared/signals/catalogue.ts";
import { startObserver, type Observer } from "../../local/runtime/observer.ts";
import { sleep } from "../../local/runtime/process.ts";
import { startPrometheus, type Prometheus } from "../../local/runtime/prometheus.ts";
import { logger } from "../log.ts";
import { measure, recommend, type Sample } from "./method.ts";
import { observerSampler } from "./observer-metrics.ts";
import { prometheusHistory } from "./prometheus.ts";
import { containerKey, newStore, samplesOf } from "./store.ts";

const isRoot = process.getuid?.() === 0;
let cg: CpuCgroup;
let observer: Observer;
let prom: Prometheus;
const uid = randomUUID();
const cid = containerId();

before(async () => {
  if (!isRoot) return;
  const root = `/kg-sizing-${randomBytes(3).toString("hex")}/kubepods`;
  cg = await cpuCgroup({ path: `${root}/pod${uid}/${cid}`, quotaCores: 0.2 });
  observer = await startObserver({ args: ["--sample-interval-ms", "250"] });
  prom = await startPrometheus({ scrapeTargets: [observer.url], scrapeInterval: "1s" });
});
after(async () => {
  if (!isRoot) return;
  for (const stop of [() => prom.stop(), () => observer.stop(), () => cg.stop()])
    await stop().catch(() => undefined);
});

const near = (a: number, b: number, rel: number, what: string) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(a, b), `${what}: ${a} vs ${b}`);

test(
  "observer-metrics and Prometheus histories match cpu.stat and size a spinner above its quota",
  {
    skip: !isRoot && "needs root",
  },
  async () => {
    const store = newStore(120_000);
    const sampler = observerSampler({
      store,
      observers: () => [observer.url],
      intervalMs: 1_000,
      timeoutMs: 3_000,
      log: logger("warn"),
    });
    const key = containerKey("", uid, cid.slice(0, 12));
    // Both histories have a baseline before the load.
    for (let i = 0; i < 50; i++) {
      await sampler.once();
      if (store.tracks.has(key)) break;
      await sleep(500);
    }
    assert.ok(store.tracks.has(key), `observer series for ${key}`);
    // …and Prometheus has scraped the container's series for a few seconds.
    const q = `${prom.url}/api/v1/query?query=${encodeURIComponent(`${METRIC.usageSeconds}{pod="${uid}"}`)}`;
    for (let i = 0; i < 120; i++) {
      const body = (await (await fetch(q)).json()) as { data?: { result?: unknown[] } };
      if (body.data?.result?.length) break;
      await sleep(500);
    }
    await sleep(4_000);
    await sampler.once();
    const start = Date.now();
    const k0 = await cg.cpuStat();
    await cg.startLoad();
    for (let i = 0; i < 15; i++) {
      await sleep(1_000);
      await sampler.once();
    }
    await cg.stopLoad();
    const k1 = await cg.cpuStat();
    await sleep(2_500); // one more scrape for Prometheus
    await sampler.once();
    const end = Date.now();
    const kernel = {
      periods: k1.nrPeriods - k0.nrPeriods,
      throttled: k1.nrThrottled - k0.nrThrottled,
    };

    const own = samplesOf(store, key, start - 1, end);
    const fromProm = await prometheusHistory(prom.url, 5_000).samples(
      { namespace: "", pod: uid, container: cid.slice(0, 12) },
      start - 3_000,
      end,
      1_000,
    );
    const sum = (s: Sample[], f: (x: Sample) => number) => s.reduce((a, x) => a + f(x), 0);
    for (const [name, s] of [
      ["observer-metrics", own],
      ["prometheus", fromProm],
    ] as const) {
      console.log(
        `${name}: ${s.length} samples, periods ${sum(s, (x) => x.periods)}, throttled ${sum(s, (x) => x.throttled)}; cpu.stat: periods ${kernel.periods}, throttled ${kernel.throttled}`,
      );
      near(
        sum(s, (x) => x.periods),
        kernel.periods,
        0.15,
        `${name} periods`,
      );
      near(
        sum(s, (x) => x.throttled),
        kernel.throttled,
        0.15,
        `${name} throttled`,
      );
      const r = recommend(
        s,
        {
          windowMs: 20_000,
          sampleMs: 1_000,
          cfsPeriodSeconds: 0.1,
          margin: 0.15,
          percentile: 0.95,
        },
        end,
        { cpuCores: 0.2 },
      );
      console.log(`${name}: ${r.confidence}: ${r.cpu.rationale}`);
      assert.ok(measure(s).throttledShare > 0.5, `${name} throttled share`);
      assert.ok((r.cpu.limitCores ?? 0) > 0.4, r.cpu.rationale);
      assert.ok((r.cpu.krrCores ?? 1) <= 0.25 && (r.cpu.vpaCores ?? 1) <= 0.29, r.cpu.rationale);
    }
  },
);
