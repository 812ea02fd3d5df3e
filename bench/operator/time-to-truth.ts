// Time to truth: from a kernel event (its timestamp in the observer's event)
// to the KernelWhisper that reflects it being visible through the API, over
// ≥100 real OOM kills — beside the Prometheus + Alertmanager path for the same
// condition with the shipped scrape interval, rule interval and `for:`, and a
// sustained webhook ingest run with the API writes it caused.
//   node --import tsx bench/operator/time-to-truth.ts [--kills 120] [--am-samples 3]
// Needs root (BPF, cgroups). Prints figures; asserts nothing.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { stringify } from "yaml";
import { prometheusRules, SHIPPED_RULES } from "../../src/shared/alerts/prometheus-rules.ts";
import type { KernelWhisper } from "../../src/shared/model/kernel-whisper.ts";
import { defaults } from "../../src/operator/config.ts";
import { logger } from "../../src/operator/log.ts";
import { startOperator } from "../../src/operator/operator.ts";
import { startAlertmanager } from "../../src/local/runtime/alertmanager.ts";
import { startCluster } from "../../src/local/runtime/cluster.ts";
import { startObserver } from "../../src/local/runtime/observer.ts";
import { sleep } from "../../src/local/runtime/process.ts";
import { startPrometheus } from "../../src/local/runtime/prometheus.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const KILLS = arg("kills", 120);
const AM_SAMPLES = arg("am-samples", 3);
const NS = "kernel-gossip";
const MEMCG = existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes")
  ? "/sys/fs/cgroup/memory"
  : "/sys/fs/cgroup";
const v2 = MEMCG === "/sys/fs/cgroup";

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function memcg(name: string, limitBytes: number) {
  const dir = join(MEMCG, name);
  await mkdir(dir, { recursive: true });
  if (!v2)
    await writeFile(join(dir, "memory.memsw.limit_in_bytes"), String(limitBytes)).catch(
      () => undefined,
    );
  await writeFile(join(dir, v2 ? "memory.max" : "memory.limit_in_bytes"), String(limitBytes));
  return { dir, path: `/${name}`, remove: () => rmdir(dir).catch(() => undefined) };
}

/** One OOM kill: `tail /dev/zero` buffers an endless line inside the memcg until the kernel kills it. */
const oomOnce = (dir: string) =>
  new Promise<void>((resolve) => {
    const c = spawn("sh", ["-c", `echo $$ > ${join(dir, "cgroup.procs")} && exec tail /dev/zero`], {
      stdio: "ignore",
    });
    c.on("exit", () => resolve());
  });

/** Kernel event times (ms since epoch) of oom_kill events per memcg path, from the observer's stream. */
function oomEvents(observerUrl: string) {
  const byPath = new Map<string, number[]>();
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(`${observerUrl}/events`, { signal: abort.signal });
    let buf = "";
    for await (const chunk of res.body ?? []) {
      buf += Buffer.from(chunk as Uint8Array).toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const ev = JSON.parse(buf.slice(0, nl)) as {
          type: string;
          tsUnixMs: number;
          workload: { cgroup: string };
        };
        buf = buf.slice(nl + 1);
        if (ev.type !== "oom_kill") continue;
        const list = byPath.get(ev.workload.cgroup) ?? [];
        list.push(ev.tsUnixMs);
        byPath.set(ev.workload.cgroup, list);
      }
    }
  })().catch(() => undefined);
  return { get: (p: string) => byPath.get(p) ?? [], stop: () => abort.abort() };
}

/** When each occurrence count (and each source) first became visible through a whisper watch. */
function whisperWatch(kubeconfig: string) {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const seen = new Map<string, number>(); // `${source}|${cgroup}|${occurrences}` → first seen ms
  let req: { abort: () => void } | undefined;
  const start = async () => {
    req = await new k8s.Watch(kc).watch(
      `/apis/kernel.gossip.io/v1alpha1/namespaces/${NS}/kernelwhispers`,
      {},
      (_type, obj: KernelWhisper) => {
        const key = `${obj.spec.source}|${obj.spec.subject.cgroupPath ?? ""}`;
        for (let k = 1; k <= obj.spec.occurrences; k++)
          if (!seen.has(`${key}|${k}`)) seen.set(`${key}|${k}`, Date.now());
      },
      () => undefined,
    );
  };
  return { start, seen, stop: () => req?.abort() };
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error("run as root (BPF programs, cgroups)");
  console.log("starting: control plane, observer (release build), operator (shipped defaults)");
  const cluster = await startCluster();
  await cluster.kubectl(["create", "namespace", NS]);
  const observer = await startObserver({ release: true });
  const cfg = defaults();
  cfg.listen = "127.0.0.1:0";
  cfg.kubeconfig = cluster.kubeconfig;
  cfg.namespace = NS;
  cfg.observers.urls = [observer.url];
  cfg.leaderElection.enabled = false;
  const op = await startOperator(cfg, logger("error"));
  const events = oomEvents(observer.url);
  const watch = whisperWatch(cluster.kubeconfig);
  await watch.start();
  await sleep(1_000);
  const cleanup: (() => Promise<unknown>)[] = [];

  try {
    // 1) Direct path: observer /events → operator → API.
    const cg = await memcg(`kg-bench-oom-${process.pid}`, 16 * 2 ** 20);
    cleanup.push(cg.remove);
    const t0 = Date.now();
    for (let i = 0; i < KILLS; i++) {
      await oomOnce(cg.dir);
      await sleep(30);
    }
    const genSeconds = (Date.now() - t0) / 1000;
    await sleep(3_000);
    const ts = events.get(cg.path);
    const ttt: number[] = [];
    ts.forEach((t, i) => {
      const visible = watch.seen.get(`observer|${cg.path}|${i + 1}`);
      if (visible !== undefined) ttt.push(visible - t);
    });

    // 2) Prometheus + Alertmanager path, shipped intervals, a few samples.
    const am = await startAlertmanager({
      webhookUrl: `${op.url}/webhooks/alertmanager`,
      groupWait: "30s",
      groupInterval: "5m",
      repeatInterval: "4h",
    });
    const rules = join(cluster.dir, "rules.yaml");
    await writeFile(rules, stringify(prometheusRules(SHIPPED_RULES)));
    const prom = await startPrometheus({
      scrapeTargets: [observer.url],
      scrapeInterval: "15s",
      ruleFiles: [rules],
      alertmanagerUrl: am.url,
    });
    cleanup.push(
      () => prom.stop(),
      () => am.stop(),
    );
    const amTimes: number[] = [];
    const amCgs = await Promise.all(
      Array.from({ length: AM_SAMPLES }, (_, i) =>
        memcg(`kg-bench-am-${process.pid}-${i}`, 16 * 2 ** 20),
      ),
    );
    cleanup.push(...amCgs.map((c) => c.remove));
    await sleep(20_000); // let Prometheus see the new (zero) series first
    for (const [i, c] of amCgs.entries()) {
      await oomOnce(c.dir);
      if (i < amCgs.length - 1) await sleep(7_000); // spread over the scrape/eval cycle
    }
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && amCgs.some((c) => !watch.seen.has(`alertmanager|${c.path}|1`)))
      await sleep(500);
    for (const c of amCgs) {
      const t = events.get(c.path)[0];
      const v = watch.seen.get(`alertmanager|${c.path}|1`);
      if (t !== undefined && v !== undefined) amTimes.push(v - t);
    }

    // 3) Sustained webhook ingest with bounded writes.
    const writes = async () => {
      const text = await (await fetch(`${op.url}/metrics`)).text();
      return [
        ...text.matchAll(/^kernel_gossip_operator_api_writes_total\{[^}]*result="ok"\} (\d+)/gm),
      ].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await writes();
    const load = await new Promise<string>((resolve) => {
      const c = spawn(process.execPath, [
        "--import",
        "tsx",
        join(import.meta.dirname, "webhook-load.ts"),
        `${op.url}/webhooks/alertmanager`,
        "10",
        "10",
        "50",
      ]);
      let out = "";
      c.stdout.on("data", (d: Buffer) => (out += d.toString()));
      c.on("close", () => resolve(out));
    });
    const result = JSON.parse(load) as {
      requests: number;
      perSecond: number;
      p50: number;
      p99: number;
      non2xx: number;
      errors: number;
    };
    await sleep(2_000);
    const after = await writes();

    console.log("\n== time to truth (kernel event → KernelWhisper visible through the API) ==");
    console.log(
      `observer stream path : ${ttt.length}/${ts.length} OOM kills matched (generated ${KILLS} in ${genSeconds.toFixed(1)} s)`,
    );
    console.log(
      `                       p50 ${ms(pct(ttt, 50))}  p99 ${ms(pct(ttt, 99))}  max ${ms(Math.max(...ttt))}  (flush interval ${cfg.whispers.flushIntervalMs} ms; target p99 ≤ 1000 ms)`,
    );
    console.log(
      `prometheus+alertmgr  : ${amTimes.length}/${AM_SAMPLES} samples, scrape 15s, rule interval ${SHIPPED_RULES.interval}, for 0s (OOM), group_wait 30s`,
    );
    console.log(
      `                       ${amTimes.map((t) => ms(t)).join(", ")}  (median ${ms(pct(amTimes, 50))})`,
    );
    console.log(
      "\n== sustained webhook ingest (Alertmanager bodies, 50 subjects, 10 connections, 10 s) ==",
    );
    console.log(
      `requests: ${result.requests} (${result.perSecond.toFixed(0)}/s)  latency p50 ${result.p50.toFixed(1)} ms  p99 ${result.p99.toFixed(1)} ms  non-2xx ${result.non2xx}  errors ${result.errors}`,
    );
    console.log(
      `API writes caused: ${after - before} (${(((after - before) / Math.max(1, result.requests)) * 100).toFixed(2)}% of requests) — coalesced per subject and flush`,
    );
  } finally {
    events.stop();
    watch.stop();
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    await op.stop();
    await observer.stop();
    await cluster.stop();
  }
}

await main();
