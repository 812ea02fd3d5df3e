// Kernel signals end to end: a cgroup this file creates is CPU-throttled by
// the real kernel (0.1-core quota, busy loop), the real observer exports its
// counters, a real Prometheus scrapes them, and the gateway's frames must
// agree with cpu.stat as this file reads it. The same checks run against the
// direct-observer mode (no Prometheus). Nothing here is simulated.
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { after, before, describe, test } from "node:test";
import { freePort } from "../local/runtime/cluster.ts";
import { startObserver, type Observer } from "../local/runtime/observer.ts";
import { startPrometheus, type Prometheus } from "../local/runtime/prometheus.ts";
import { sleep } from "../local/runtime/process.ts";
import { closeTestCluster, testCluster } from "../../tests/env/test-cluster.ts";
import type { Frame } from "./frames.ts";
import type { RunningGateway } from "./gateway.ts";
import { METRIC } from "../shared/signals/catalogue.ts";
import { cpuCgroup, type CpuCgroup, type CpuStat } from "../../tests/env/cgroup.ts";
import {
  apiClient,
  cleanupStack,
  eventually,
  startTestGateway,
  TOKEN,
} from "../../tests/support/gateway.ts";

type Client = Awaited<ReturnType<typeof apiClient>>;
interface Results {
  results: Record<string, { status: number; frames: Frame[]; error?: string }>;
}

const NODE = "gw-test-node";
const DROPS = 2000;
// Small enough that the busy loop exhausts it every period even when the two
// cores are crowded (it needs 10 ms of CPU per 100 ms to be throttled).
const QUOTA = 0.1;
const LOAD_MS = 9_000;

let cg: CpuCgroup;
let observer: Observer;
let prom: Prometheus;
let viaProm: RunningGateway;
let direct: RunningGateway;
let promApi: Client;
let directApi: Client;
let observerStartMs: number;
let loadStartMs: number;
let statBefore: CpuStat;
let burstMs: number;

/** The first value of an instant query against the test's Prometheus (0 if none). */
async function promValue(query: string): Promise<number> {
  const r = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await r.json()) as { data: { result: { value: [number, string] }[] } };
  return Number(body.data.result[0]?.value[1] ?? 0);
}

async function udpToClosedPort(n: number): Promise<void> {
  const port = await freePort();
  const sock = createSocket("udp4");
  // ICMP port-unreachable comes back as ECONNREFUSED on a connected socket: expected.
  sock.on("error", () => undefined);
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => sock.send("x", port, "127.0.0.1", () => resolve()));
  }
  sock.close();
}
const cleanup = cleanupStack();

const values = (f: Frame | undefined, name: string) => {
  const field = f?.fields.find((x) => x.name === name);
  if (!field)
    throw new Error(`no field ${name} in ${JSON.stringify(f?.fields.map((x) => x.name))}`);
  return field.values;
};
const num = (f: Frame | undefined, name: string, row = 0) => {
  const v = values(f, name)[row];
  if (typeof v !== "number")
    throw new Error(`${name}[${row}] is ${JSON.stringify(v)}, not a number`);
  return v;
};

async function run(api: Client, queries: unknown[]) {
  const r = await api.call<Results>("POST", "/api/v1/query", { queries });
  assert.equal(r.status, 200, r.text);
  for (const [id, res] of Object.entries(r.body.results))
    assert.equal(res.status, 200, `${id}: ${res.error ?? ""}`);
  return r.body.results;
}

before(async () => {
  // Order matters: the cgroup exists before the observer indexes cgroupfs.
  cleanup.defer(() => closeTestCluster());
  const kube = await testCluster();
  cg = await cpuCgroup({ quotaCores: QUOTA });
  cleanup.defer(() => cg.stop()); // kills the busy loop and removes the cgroup, even on failure
  observerStartMs = Date.now();
  observer = await startObserver({
    nodeName: NODE,
    args: ["--sample-interval-ms", "500", "--signals", "cgroups,cpu,runqueue,drops"],
  });
  cleanup.defer(() => observer.stop());
  prom = await startPrometheus({
    scrapeTargets: [{ url: observer.url, labels: { node: NODE } }],
    scrapeInterval: "1s",
  });
  cleanup.defer(() => prom.stop());
  viaProm = await startTestGateway({
    KUBECONFIG: kube.kubeconfig,
    KG_PROMETHEUS_URL: prom.url,
    KG_SCRAPE_INTERVAL: "1s",
  });
  cleanup.defer(() => viaProm.close());
  direct = await startTestGateway({
    KUBECONFIG: kube.kubeconfig,
    KG_OBSERVER_URLS: `${NODE}=${observer.url}`,
    KG_OBSERVER_SCRAPE_INTERVAL: "500ms",
  });
  cleanup.defer(() => direct.close());
  // The first scrapes of a just-started (debug) observer can exceed the 1 s
  // timeout: start the load only once Prometheus scrapes it steadily.
  await eventually(
    "prometheus scraping the observer steadily",
    async () => ((await promValue("sum_over_time(up[5s])")) >= 4 ? true : undefined),
    60_000,
  );
  promApi = await apiClient(viaProm.url);
  directApi = await apiClient(direct.url);
  statBefore = await cg.cpuStat();
  loadStartMs = Date.now();
  await cg.startLoad();
  // Datagrams to a loopback port nothing listens on: the kernel drops each one
  // with reason NO_SOCKET (in the root network namespace, cgroup "/"). One drop
  // first, so the series exists and is scraped before the burst: a counter's
  // first sample is its baseline, so drops before it are invisible to rate().
  await udpToClosedPort(1);
  await eventually(
    "the NO_SOCKET series scraped twice by Prometheus and the gateway",
    async () => {
      const n = await promValue(
        `count_over_time(${METRIC.packetDrops}{reason="NO_SOCKET",cgroup="/"}[30s])`,
      );
      const direct2 =
        (await direct.ctx.sources.signals?.samples(
          [METRIC.packetDrops],
          { cgroup: ["/"] },
          0,
          Date.now(),
        )) ?? [];
      const d = direct2.find((s) => s.labels.reason === "NO_SOCKET")?.times.length ?? 0;
      return n >= 2 && d >= 2 ? true : undefined;
    },
    30_000,
  );
  burstMs = Date.now();
  await udpToClosedPort(DROPS);
  await sleep(LOAD_MS);
  // Prometheus must have scraped the loaded cgroup a few times.
  await eventually(
    "prometheus has samples of the test cgroup",
    async () => {
      const n = await promValue(`count_over_time(${METRIC.periods}{cgroup="${cg.path}"}[1m])`);
      return n >= 6 ? true : undefined;
    },
    30_000,
  );
});

after(() => cleanup.run());

for (const mode of ["prometheus", "direct"] as const) {
  const api = () => (mode === "prometheus" ? promApi : directApi);

  describe(`${mode}: cpu throttling of a real cgroup`, () => {
    test("signal cpu-throttling: one series for the cgroup, every point the kernel's throttled share", async () => {
      const now = Date.now();
      const res = await run(api(), [
        {
          refId: "A",
          type: "signal",
          signal: "cpu-throttling",
          range: { from: loadStartMs, to: now },
          intervalMs: 1000,
          filters: { cgroup: [cg.path] },
        },
      ]);
      const frames = res.A?.frames ?? [];
      assert.equal(frames.length, 1, JSON.stringify(frames));
      const f = frames[0];
      assert.equal(f?.meta?.preferredVisualisationType, "graph");
      const [time, value] = f.fields;
      assert.equal(time?.type, "time");
      assert.equal(time.config.interval, 1000);
      assert.deepEqual(value?.labels, { cgroup: cg.path, node: NODE });
      assert.equal(value.config.unit, "percentunit");
      const stat = await cg.cpuStat();
      const kernelRatio =
        (stat.nrThrottled - statBefore.nrThrottled) / (stat.nrPeriods - statBefore.nrPeriods);
      assert.ok(kernelRatio > 0.8, `the kernel did not throttle: ${JSON.stringify(stat)}`);
      const vs = value.values as number[];
      assert.ok(vs.length >= 3, `too few points: ${JSON.stringify(vs)}`);
      for (const v of vs) assert.ok(v >= 0 && v <= 1, `ratio out of range: ${v}`);
      const lastV = vs[vs.length - 1] ?? -1;
      assert.ok(Math.abs(lastV - kernelRatio) < 0.1, `gateway ${lastV} vs kernel ${kernelRatio}`);
      const times = time.values as number[];
      for (const t of times)
        assert.ok(t >= loadStartMs && t <= now, `point outside the range at ${t}`);
    });

    test("truth-vs-metrics: counter deltas the kernel really counted, and the averaged view beside them", async () => {
      const from = loadStartMs - 2000;
      const to = Date.now();
      const res = await run(api(), [
        {
          refId: "T",
          type: "truth-vs-metrics",
          range: { from, to },
          filters: { cgroup: [cg.path] },
        },
      ]);
      const stat = await cg.cpuStat();
      const f = res.T?.frames[0];
      assert.equal(f?.length, 1, JSON.stringify(f));
      assert.equal(values(f, "workload")[0], cg.path);
      assert.equal(values(f, "node")[0], NODE);
      // Readings taken by the observer lie between the test's own cpu.stat reads.
      const atStart = num(f, "periodsAtStart");
      const atEnd = num(f, "periodsAtEnd");
      assert.ok(
        atStart >= statBefore.nrPeriods && atEnd <= stat.nrPeriods && atEnd > atStart,
        JSON.stringify({ atStart, atEnd, statBefore, stat }),
      );
      assert.equal(
        num(f, "periods"),
        atEnd - atStart,
        "a delta is last minus first: no extrapolation",
      );
      const throttled = num(f, "throttledPeriods");
      assert.ok(
        throttled <= num(f, "periods") && throttled <= stat.nrThrottled - statBefore.nrThrottled,
      );
      assert.equal(num(f, "throttledPeriodsRatio"), throttled / num(f, "periods"));
      const kernelRatio =
        (stat.nrThrottled - statBefore.nrThrottled) / (stat.nrPeriods - statBefore.nrPeriods);
      assert.ok(
        Math.abs(num(f, "throttledPeriodsRatio") - kernelRatio) < 0.1,
        `${num(f, "throttledPeriodsRatio")} vs kernel ${kernelRatio}`,
      );
      assert.ok(
        num(f, "throttledSeconds") > 0 &&
          num(f, "throttledSeconds") <= stat.throttledSeconds - statBefore.throttledSeconds + 1e-6,
      );
      assert.equal(num(f, "cpuLimitCores"), QUOTA);
      // A busy loop under a quota uses its whole limit: the average says ~100%, the kernel says throttled.
      const pct = num(f, "avgCpuPercentOfLimit");
      assert.ok(pct > 70 && pct < 115, `avg CPU % of limit ${pct}`);
      const span = num(f, "windowEnd") - num(f, "windowStart");
      assert.ok(
        span >= 4000 && num(f, "windowStart") >= from && num(f, "windowEnd") <= to,
        `window ${span} ms`,
      );
      const p50 = num(f, "runqueueDelayP50");
      const p99 = num(f, "runqueueDelayP99");
      assert.ok(p50 > 0 && p50 <= p99, `run-queue p50 ${p50} p99 ${p99}`);
      assert.ok(num(f, "runqueueDelayMean") > 0);
    });

    test("signal runqueue-delay gives p50 <= p90 <= p99; cpu-usage says ~100% of the limit", async () => {
      const range = { from: loadStartMs + 4000, to: Date.now() };
      const res = await run(api(), [
        {
          refId: "R",
          type: "signal",
          signal: "runqueue-delay",
          range,
          intervalMs: 1000,
          filters: { cgroup: [cg.path] },
        },
        {
          refId: "U",
          type: "signal",
          signal: "cpu-usage",
          range,
          intervalMs: 1000,
          filters: { cgroup: [cg.path] },
        },
      ]);
      const byQ = new Map((res.R?.frames ?? []).map((f) => [f.fields[1]?.labels?.quantile, f]));
      assert.deepEqual([...byQ.keys()].sort(), ["0.5", "0.9", "0.99"]);
      const at = (q: string) => {
        const f = byQ.get(q);
        return new Map(
          (values(f, "time") as number[]).map((t, i) => [
            t,
            values(f, "runqueue-delay")[i] as number,
          ]),
        );
      };
      const [p50, p90, p99] = [at("0.5"), at("0.9"), at("0.99")];
      assert.ok(p50.size > 0);
      for (const [t, v] of p50) {
        assert.ok(
          v > 0 && v <= (p90.get(t) ?? Infinity) && (p90.get(t) ?? 0) <= (p99.get(t) ?? Infinity),
          `at ${t}`,
        );
      }
      const usage = res.U?.frames[0];
      assert.equal(usage?.fields[1]?.config.unit, "percent");
      // Early points may sit lower: Prometheus' rate() over a window that reaches
      // back before the series' first samples. Once the window is inside the
      // load, the busy loop uses its whole quota.
      const pcts = values(usage, "cpu-usage") as number[];
      const ctx = `${JSON.stringify(pcts)} at ${JSON.stringify(values(usage, "time"))} (load from ${loadStartMs})`;
      for (const v of pcts) assert.ok(v > 0 && v < 120, `cpu-usage ${v} in ${ctx}`);
      const last = pcts[pcts.length - 1] ?? 0;
      assert.ok(last > 70, `cpu-usage ${last} in ${ctx}`);
    });

    test("signal packet-drops: the burst of NO_SOCKET drops this file caused, by reason", async () => {
      const range = { from: burstMs - 5000, to: Date.now() };
      const res = await run(api(), [
        {
          refId: "D",
          type: "signal",
          signal: "packet-drops",
          range,
          intervalMs: 1000,
          filters: { cgroup: ["/"] },
        },
      ]);
      const f = (res.D?.frames ?? []).find((x) => x.fields[1]?.labels?.reason === "NO_SOCKET");
      assert.ok(
        f,
        `no NO_SOCKET series: ${JSON.stringify(res.D?.frames.map((x) => x.fields[1]?.labels))}`,
      );
      const value = f.fields[1];
      assert.deepEqual(value?.labels, { cgroup: "/", node: NODE, reason: "NO_SOCKET" });
      assert.equal(value.config.unit, "pps");
      // All drops fell inside one rate window (4 s here): some step's rate covers all of them.
      const peak = Math.max(...(value.values as number[]));
      assert.ok(peak >= DROPS / 4, `peak ${peak} pps < ${DROPS} drops / 4 s`);
    });

    test("gaps stay gaps: no point before the first scrape, no frame for a range without data", async () => {
      const res = await run(api(), [
        {
          refId: "B",
          type: "signal",
          signal: "cpu-throttling",
          range: { from: observerStartMs - 120_000, to: Date.now() },
          intervalMs: 1000,
          filters: { cgroup: [cg.path] },
        },
        {
          refId: "E",
          type: "signal",
          signal: "cpu-throttling",
          range: { from: observerStartMs - 3_600_000, to: observerStartMs - 600_000 },
          intervalMs: 10_000,
          filters: { cgroup: [cg.path] },
        },
      ]);
      const times = values(res.B?.frames[0], "time") as number[];
      assert.ok(
        (times[0] ?? 0) >= observerStartMs,
        `a point at ${times[0]} precedes the observer (${observerStartMs})`,
      );
      assert.deepEqual(res.E?.frames, []);
    });

    test("variables: the node label comes from the signal source", async () => {
      const r = await api().call<{ values: string[] }>("GET", "/api/v1/variables/nodes");
      assert.equal(r.status, 200);
      assert.ok(r.body.values.includes(NODE), JSON.stringify(r.body));
    });
  });
}

describe("stream", () => {
  test("observer events are relayed: the throttle episode closes when the load stops", async () => {
    const ctl = new AbortController();
    const res = await fetch(`${direct.url}/api/v1/stream?types=observer`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ctl.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body?.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    try {
      await eventually(
        "observer stream connected",
        () =>
          Promise.resolve(direct.ctx.sources.events?.status().state === "ready" ? true : undefined),
        10_000,
      );
      await cg.stopLoad();
      const episode = new RegExp(
        `event: observer\\nid: ${NODE}-\\d+\\ndata: (\\{[^\\n]*"type":"throttle_episode"[^\\n]*\\})\\n`,
      );
      const deadline = Date.now() + 20_000;
      let m: RegExpExecArray | null = null;
      while (!(m = episode.exec(seen)) || !m[1]?.includes(`"cgroup":"${cg.path}"`)) {
        if (m) seen = seen.slice(m.index + m[0].length); // another cgroup's episode
        if (Date.now() > deadline) throw new Error(`no throttle_episode for ${cg.path}: ${seen}`);
        const chunk = await reader?.read();
        if (!chunk || chunk.done) throw new Error("stream ended");
        seen += chunk.value;
      }
      const e = JSON.parse(m[1]) as {
        node: string;
        evidence: { throttledPeriods: number; periods: number; limitCores: number };
      };
      assert.equal(e.node, NODE);
      assert.equal(e.evidence.limitCores, QUOTA);
      // The episode lies inside the load: the kernel's own count bounds it.
      const stat = await cg.cpuStat();
      const kernelThrottled = stat.nrThrottled - statBefore.nrThrottled;
      assert.ok(
        e.evidence.throttledPeriods > 0 && e.evidence.throttledPeriods <= kernelThrottled,
        `${e.evidence.throttledPeriods} vs ${kernelThrottled}`,
      );
      assert.ok(e.evidence.periods <= stat.nrPeriods - statBefore.nrPeriods);
    } finally {
      ctl.abort();
    }
  });
});
