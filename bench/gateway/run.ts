// Gateway benchmark: a real API server seeded with 10k KernelWhispers and 1k
// PodBirthCertificates, a real Prometheus ingesting 1k pods of observer-shaped
// series by scraping a generator exporter, the gateway as its own process
// (main.ts, Prometheus mode), and a load process driving a dashboard's mix of
// requests at a constant 200 req/s (vegeta, ADR 0055) with /healthz in the
// same window as the baseline. Prints p50/p90/p99/max, errors and the
// gateway's RSS. Options: see bench/gateway/README.md.
//   node --import tsx bench/gateway/run.ts [--duration 30] [--rate 200]
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { promisify } from "node:util";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";
import { freePort, startCluster } from "../../src/local/runtime/cluster.ts";
import { launch, sleep, stopChild, tail, waitFor } from "../../src/local/runtime/process.ts";
import { startPrometheus } from "../../src/local/runtime/prometheus.ts";
import { podName, startExporter } from "./exporter.ts";
import { runLoad, type Driver, type LoadSpec, type Stats } from "./drivers.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "30" },
    rate: { type: "string", default: "200" },
    whispers: { type: "string", default: "10000" },
    births: { type: "string", default: "1000" },
    pods: { type: "string", default: "1000" },
    ingest: { type: "string", default: "90" },
    /** Directory for a V8 CPU profile of the gateway (written when it stops). */
    profile: { type: "string" },
    /**
     * --pin on: the gateway on the last CPU, everything else (API server, etcd,
     * Prometheus, exporter, load generator) on the others. Off by default: on
     * 2 cores it starves the load generator, whose waits then count as
     * latency (ADR 0055).
     */
    pin: { type: "string", default: "off" },
    /** Run the gateway bundled like its image (on) or under tsx (off). */
    bundle: { type: "string", default: "on" },
    /** The load generator: vegeta (constant rate, default) or autocannon (ADR 0055). */
    driver: { type: "string", default: "vegeta" },
    /** Extra Node/V8 flags for the gateway, space-separated (e.g. "--trace-gc"). */
    "node-flags": { type: "string", default: "" },
  },
});
if (args.driver !== "vegeta" && args.driver !== "autocannon") {
  throw new Error(`--driver: vegeta or autocannon, not ${args.driver}`);
}
const DRIVER: Driver = args.driver;
const N = { whispers: Number(args.whispers), births: Number(args.births), pods: Number(args.pods) };
const SCRAPE_S = 5;
const log = (m: string) => console.error(`bench: ${m}`);

const SIGNALS = ["cpu-throttling", "runqueue-delay", "oom-kill", "packet-drops"] as const;
const SEVERITIES = ["info", "warning", "critical"] as const;
const iso = (ms: number) => new Date(ms).toISOString();

function whisper(i: number, now: number) {
  const p = podName(i % N.pods);
  const last = now - (i % 1440) * 60_000;
  return {
    apiVersion: "kernel.gossip.io/v1alpha1",
    kind: "KernelWhisper",
    metadata: { name: `w-${i}`, namespace: p.namespace },
    spec: {
      subject: { ...p, node: `node-${i % 3}` },
      signal: SIGNALS[i % SIGNALS.length],
      severity: SEVERITIES[i % SEVERITIES.length],
      kernelTruth: {
        window: { start: iso(last - 300_000), end: iso(last) },
        quantities: [{ name: "throttledPeriodsRatio", value: (i % 100) / 100, unit: "ratio" }],
      },
      source: "observer",
      firstSeen: iso(last - 300_000),
      lastSeen: iso(last),
      occurrences: 1 + (i % 7),
    },
  };
}

function birth(i: number, now: number) {
  const p = podName(i);
  return {
    apiVersion: "kernel.gossip.io/v1alpha1",
    kind: "PodBirthCertificate",
    metadata: { name: `b-${i}`, namespace: p.namespace },
    spec: {
      subject: { namespace: p.namespace, pod: p.pod, node: `node-${i % 3}` },
      startTime: iso(now - (i % 1440) * 60_000),
      timeline: Array.from({ length: 20 }, (_, k) => ({
        offsetMicroseconds: k * 1000,
        actor: "runtime",
        action: "cgroup-file-written",
        detail: `cpu.cfs_quota_us=${k}`,
      })),
      kernelStats: {
        syscalls: 1000 + i,
        namespacesCreated: { mnt: 1, pid: 1, net: 1 },
        cgroupsCreated: [],
        cgroupFilesWritten: [],
        forks: 5,
        execs: 2,
        totalDurationSeconds: 0.1,
      },
    },
  };
}

/** Creates objects with bounded concurrency through the real API server. */
async function seed(kc: KubeConfig, plural: string, objs: { metadata: { namespace: string } }[]) {
  const api = kc.makeApiClient(CustomObjectsApi);
  let next = 0;
  const worker = async () => {
    while (next < objs.length) {
      const o = objs[next++];
      if (!o) return;
      await api.createNamespacedCustomObject({
        group: "kernel.gossip.io",
        version: "v1alpha1",
        namespace: o.metadata.namespace,
        plural,
        body: o,
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Sum and count of a histogram in the gateway's /metrics, for one label matcher. */
async function histogram(url: string, name: string, matcher: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (suffix: string) =>
    Number(
      new RegExp(`^${name}_${suffix}\\{[^}]*${matcher}[^}]*\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0,
    );
  return { sum: value("sum"), count: value("count") };
}

/** Prometheus answer-cache outcomes so far (hit, shared, miss), from /metrics. */
async function cacheOutcomes(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const n = (outcome: string) =>
    Number(
      new RegExp(
        `^kernel_gossip_gateway_source_cache_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\S+)$`,
        "m",
      ).exec(text)?.[1] ?? 0,
    );
  return { hit: n("hit"), shared: n("shared"), miss: n("miss"), refresh: n("refresh") };
}

const run = promisify(execFile);

const rssOf = async (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;

/** CPU sets for --pin: the gateway gets the last CPU, the rest get the others. */
function cpuPlan(): { gateway: string; rest: string } | undefined {
  const n = cpus().length;
  if (args.pin !== "on" || n < 2) return undefined;
  return { gateway: String(n - 1), rest: n === 2 ? "0" : `0-${n - 2}` };
}

/** Bundles the gateway the way its image does (docker/bundle.sh: one module plus the files it reads). */
async function bundleGateway(dir: string): Promise<string> {
  const out = join(dir, "bundle");
  await run("sh", [join(REPO_ROOT, "docker/bundle.sh"), "gateway", out], { cwd: REPO_ROOT });
  return join(out, "main.mjs");
}

/** The gateway's event-loop delay p99 since its last scrape (prom-client resets it). */
async function eventLoopP99(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^kernel_gossip_gateway_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
  return Number(m?.[1] ?? NaN) * 1000;
}

async function main() {
  const cleanups: (() => Promise<unknown>)[] = [];
  const plan = cpuPlan();
  // Children inherit the affinity: pin this process before anything starts.
  if (plan) await run("taskset", ["-a", "-pc", plan.rest, String(process.pid)]);
  const dir = await mkdtemp(join(tmpdir(), "kg-bench-gateway-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  try {
    log("starting the API server");
    const cluster = await startCluster();
    cleanups.push(() => cluster.stop());
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const now = Date.now();
    const namespaces = [...new Set(Array.from({ length: N.pods }, (_, i) => podName(i).namespace))];
    for (const ns of namespaces) await cluster.kubectl(["create", "namespace", ns]);

    log(`exporter + Prometheus for ${N.pods} pods (scrape every ${SCRAPE_S}s)`);
    const exporterPort = await freePort();
    const exporter = await startExporter({ pods: N.pods, namespaces: 20, nodes: 3 }, exporterPort);
    cleanups.push(() => new Promise((r) => exporter.close(r)));
    const prom = await startPrometheus({
      scrapeInterval: `${SCRAPE_S}s`,
      scrapeTargets: [0, 1, 2].map((n) => ({
        url: `http://127.0.0.1:${exporterPort}/node-${n}/metrics`,
        labels: { node: `node-${n}` },
      })),
    });
    cleanups.push(() => prom.stop());
    const ingestStart = Date.now();

    let t = Date.now();
    log(`seeding ${N.whispers} whispers and ${N.births} birth certificates`);
    await seed(
      kc,
      "kernelwhispers",
      Array.from({ length: N.whispers }, (_, i) => whisper(i, now)),
    );
    await seed(
      kc,
      "podbirthcertificates",
      Array.from({ length: N.births }, (_, i) => birth(i, now)),
    );
    log(`seeded in ${((Date.now() - t) / 1000).toFixed(1)}s`);

    // Enough history for rate windows (4 × scrape) at every step of the panels.
    const wait = Number(args.ingest) * 1000 - (Date.now() - ingestStart);
    if (wait > 0) {
      log(`letting Prometheus ingest for ${Math.round(wait / 1000)}s more`);
      await sleep(wait);
    }

    const port = await freePort();
    const token = randomBytes(16).toString("hex");
    const gwLog = join(dir, "gateway.log");
    const prof = args.profile ? ["--cpu-prof", "--cpu-prof-dir", args.profile] : [];
    const entry =
      args.bundle === "on"
        ? [await bundleGateway(dir)]
        : ["--import", "tsx", join(REPO_ROOT, "src/gateway/main.ts")];
    const extra = args["node-flags"].split(" ").filter(Boolean);
    const nodeArgs = [...prof, ...extra, ...entry];
    log(
      `gateway: ${args.bundle === "on" ? "bundled like its image" : "tsx"}, ` +
        (plan ? `pinned to CPU ${plan.gateway}, the rest to CPU ${plan.rest}` : "unpinned"),
    );
    const gw = launch(
      plan ? "taskset" : process.execPath,
      plan ? ["-c", plan.gateway, process.execPath, ...nodeArgs] : nodeArgs,
      gwLog,
      {
        KG_LISTEN: `127.0.0.1:${port}`,
        KG_GATEWAY_TOKENS: token,
        KUBECONFIG: cluster.kubeconfig,
        KG_PROMETHEUS_URL: prom.url,
        KG_SCRAPE_INTERVAL_MS: String(SCRAPE_S * 1000),
        KG_LOG_LEVEL: "warn",
      },
    );
    cleanups.push(() => stopChild(gw));
    const url = `http://127.0.0.1:${port}`;
    t = Date.now();
    await waitFor("gateway", gw, gwLog, 120_000, async () => (await fetch(`${url}/readyz`)).ok);
    log(`gateway ready (caches synced) in ${((Date.now() - t) / 1000).toFixed(1)}s`);
    const rssIdle = await rssOf(gw.pid ?? 0);

    const end = Date.now();
    const range = { from: end - 300_000, to: end + 600_000 };
    const day = { from: end - 86_400_000, to: end + 600_000 };
    const q = (queries: unknown[]) => ({
      method: "POST",
      path: "/api/v1/query",
      body: { queries },
    });
    const ns = "bench-ns-3";
    const requests: LoadSpec["requests"] = [
      q([
        {
          refId: "A",
          type: "signal",
          signal: "cpu-throttling",
          range,
          intervalMs: 15_000,
          filters: { namespace: [ns] },
        },
      ]),
      q([
        {
          refId: "A",
          type: "signal",
          signal: "runqueue-delay",
          range,
          intervalMs: 15_000,
          filters: { namespace: [ns], pod: ["bench-pod-3"] },
        },
      ]),
      q([{ refId: "A", type: "truth-vs-metrics", range, filters: { namespace: [ns] } }]),
      q([{ refId: "A", type: "whispers", range: day, filters: { namespace: [ns] } }]),
      q([
        {
          refId: "A",
          type: "whispers",
          format: "logs",
          range: day,
          filters: { severity: ["critical"], namespace: [ns] },
        },
      ]),
      q([
        {
          refId: "A",
          type: "births",
          timeline: true,
          range: day,
          filters: { namespace: [ns], pod: ["bench-pod-23"] },
        },
      ]),
      { method: "GET", path: "/api/v1/variables/namespaces" },
      { method: "GET", path: `/api/v1/variables/pods?namespace=${ns}` },
      {
        method: "GET",
        path: `/api/v1/annotations?from=${day.from}&to=${day.to}&namespace=${ns}&severity=critical`,
      },
    ];
    // Every request kind must answer correctly before it is timed; timed alone
    // (sequentially, 10 times each) it shows what each costs without load.
    const kinds: { name: string; median: number; max: number; bytes: number }[] = [];
    for (const r of requests) {
      const took: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const res = await fetch(`${url}${r.path}`, {
          method: r.method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ...(r.body ? { body: JSON.stringify(r.body) } : {}),
        });
        const text = await res.text();
        took.push(performance.now() - t0);
        bytes = text.length;
        if (!res.ok || text.includes('"error"')) {
          throw new Error(`${r.method} ${r.path}: ${res.status} ${text.slice(0, 300)}`);
        }
      }
      took.sort((a, b) => a - b);
      const body = r.body as
        { queries: { type: string; signal?: string; format?: string }[] } | undefined;
      const q0 = body?.queries[0];
      const name = q0
        ? [q0.type, q0.signal ?? q0.format ?? ""].join(" ").trim()
        : (r.path.split("?")[0] ?? "");
      kinds.push({ name, median: took[5] ?? 0, max: took[9] ?? 0, bytes });
    }

    const duration = Number(args.duration);
    const rate = Number(args.rate);
    log(
      `load (${DRIVER}): ${rate} req/s mixed (${requests.length} kinds) + 20 req/s /healthz for ${duration}s`,
    );
    let rssPeak = 0;
    const sampler = setInterval(() => {
      void rssOf(gw.pid ?? 0).then(
        (r) => (rssPeak = Math.max(rssPeak, r)),
        () => undefined,
      );
    }, 500);
    const promBefore = await histogram(
      url,
      "kernel_gossip_gateway_source_request_duration_seconds",
      'source="prometheus"',
    );
    const queryBefore = await histogram(
      url,
      "kernel_gossip_gateway_request_duration_seconds",
      'route="/api/v1/query"',
    );
    const cacheBefore = await cacheOutcomes(url);
    await eventLoopP99(url); // resets the window to the load
    const result = await runLoad(
      DRIVER,
      { url, token, durationSeconds: duration, rate, healthzRate: 20, requests },
      dir,
    );
    clearInterval(sampler);
    const loopP99 = await eventLoopP99(url);
    const cacheAfter = await cacheOutcomes(url);
    const promAfter = await histogram(
      url,
      "kernel_gossip_gateway_source_request_duration_seconds",
      'source="prometheus"',
    );
    const queryAfter = await histogram(
      url,
      "kernel_gossip_gateway_request_duration_seconds",
      'route="/api/v1/query"',
    );
    const mean = (a: { sum: number; count: number }, b: { sum: number; count: number }) =>
      b.count > a.count ? ((b.sum - a.sum) / (b.count - a.count)) * 1000 : 0;
    const mb = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;
    const row = (name: string, s: Stats) =>
      `${name.padEnd(22)} ${String(s.requests).padStart(7)} ${s.rps.toFixed(0).padStart(6)} ${[s.p50, s.p90, s.p99, s.max].map((v) => v.toFixed(1).padStart(8)).join("")} ${String(s.errors).padStart(7)}`;
    console.log(
      `\ngateway benchmark (load by ${DRIVER}): ${N.whispers} whispers, ${N.births} births, ${N.pods} pods of series in Prometheus`,
    );
    console.log(
      `${"".padEnd(22)} ${"reqs".padStart(7)} ${"req/s".padStart(6)} ${["p50 ms", "p90 ms", "p99 ms", "max ms"].map((h) => h.padStart(8)).join("")} ${"errors".padStart(7)}`,
    );
    console.log(row("mixed dashboard", result.mixed));
    console.log(row("/healthz (baseline)", result.healthz));
    console.log("\nalone, sequential (10 each):");
    for (const k of kinds) {
      console.log(
        `  ${k.name.padEnd(34)} median ${k.median.toFixed(1).padStart(7)} ms  max ${k.max.toFixed(1).padStart(7)} ms  ${String(k.bytes).padStart(8)} bytes`,
      );
    }
    console.log(
      `\nunder load, from the gateway's own metrics: POST /api/v1/query mean ${mean(queryBefore, queryAfter).toFixed(1)} ms ` +
        `(${queryAfter.count - queryBefore.count} requests); Prometheus HTTP calls mean ${mean(promBefore, promAfter).toFixed(1)} ms ` +
        `(${promAfter.count - promBefore.count} calls)`,
    );
    const d = (k: "hit" | "shared" | "miss" | "refresh") => cacheAfter[k] - cacheBefore[k];
    console.log(
      `Prometheus answer cache under load: ${d("hit")} hits, ${d("shared")} shared in-flight, ${d("miss")} misses, ${d("refresh")} renewed ahead`,
    );
    console.log(`gateway event-loop delay p99 over the load: ${loopP99.toFixed(1)} ms`);
    console.log(`gateway RSS: ${mb(rssIdle)} after cache sync, ${mb(rssPeak)} peak under load`);
    console.log(
      `target: p99 <= 50 ms, zero errors -> ${result.mixed.p99 <= 50 && result.mixed.errors === 0 ? "met" : "NOT met"}`,
    );
    if (result.mixed.errors) console.log(`gateway log tail:\n${tail(gwLog)}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error(e));
  }
}

await main();
