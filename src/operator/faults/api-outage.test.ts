// Fault: the API server is down for 2 minutes while the kernel OOM-kills
// 10 000 tasks (ADR 0075). The operator runs as its own process (its memory
// is measured alone) and streams the real observer; kube-apiserver is killed
// and restarted after 120 s on the same port while four memory cgroups take
// 2 500 kills each. Pass: the operator's resident memory stays within a bound
// of what it was before the outage (per whisper it keeps the earliest
// unwritten time and a count, never per event), its writer keeps retrying
// (never dies), and once the API is back every whisper's occurrences equal
// the kernel's own oom_kill count for its cgroup. Its own control plane
// (it kills kube-apiserver); root (BPF, cgroups).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KernelWhisper } from "../../shared/model/kernel-whisper.ts";
import { startCluster, type Cluster } from "../../local/runtime/cluster.ts";
import { memoryCgroup, type MemoryCgroup } from "../../../tests/env/memcg.ts";
import { startObserver, type Observer } from "../../local/runtime/observer.ts";
import { sleep } from "../../local/runtime/process.ts";
import {
  eventually,
  startOperatorProcess,
  type OperatorProcess,
} from "../../../tests/support/operator.ts";

const NS = "kernel-gossip";
const CGROUPS = 4;
const BURST = 10_000;
const OUTAGE_MS = 120_000;
/** Growth allowed over the pre-outage RSS: generous for V8's heap, far below per-event state. */
const RSS_BOUND = 96 * 2 ** 20;
let cluster: Cluster;
let observer: Observer;
let op: OperatorProcess;
const cgs: MemoryCgroup[] = [];

before(async () => {
  cluster = await startCluster();
  assert.equal((await cluster.kubectl(["create", "namespace", NS])).code, 0);
  for (let i = 0; i < CGROUPS; i++) cgs.push(await memoryCgroup({ limitBytes: 4 * 2 ** 20 }));
  observer = await startObserver();
  op = await startOperatorProcess({
    KG_KUBECONFIG: cluster.kubeconfig,
    KG_NAMESPACE: NS,
    KG_OBSERVER_URLS: observer.url,
    KG_LEADER_ELECTION: "false",
    KG_QUIET_PERIOD: "30m",
  });
  await eventually("stream connected", async () =>
    /kernel_gossip_operator_observer_streams 1/.test(
      await (await fetch(`${op.url}/metrics`)).text(),
    )
      ? true
      : undefined,
  );
});
after(async () => {
  for (const stop of [() => op.stop(), () => observer.stop(), ...cgs.map((c) => () => c.stop())])
    await stop().catch(() => undefined);
  await cluster.stop();
});

const metrics = async () => (await fetch(`${op.url}/metrics`)).text();
const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);

async function whispers(): Promise<KernelWhisper[]> {
  const res = await cluster.kubectl(["get", "kw", "-n", NS, "-o", "json"]);
  if (res.code !== 0) throw new Error(res.stderr);
  return (JSON.parse(res.stdout) as { items: KernelWhisper[] }).items;
}

test("2 minutes without the API under 10 000 OOM kills: bounded memory, a live writer, exact whispers", async () => {
  // Before: a few kills per cgroup, written while the API is up; then the baseline RSS.
  await Promise.all(cgs.map((c) => c.oomBurst(20)));
  await eventually(
    "whispers before the outage",
    async () => ((await whispers()).length === CGROUPS ? true : undefined),
    20_000,
  );
  await sleep(2_000);
  const baseline = await op.rssBytes();

  const outage = cluster.restartApiServer(OUTAGE_MS);
  const started = Date.now();
  let maxRss = baseline;
  const sampling = { on: true };
  const sampler = (async () => {
    while (sampling.on) {
      if (op.alive()) maxRss = Math.max(maxRss, await op.rssBytes());
      await sleep(500);
    }
  })();
  const killed = await Promise.all(cgs.map((c) => c.oomBurst(BURST / CGROUPS)));
  const burstSeconds = (Date.now() - started) / 1000;
  assert.equal(
    killed.reduce((a, b) => a + b, 0),
    BURST,
    "the kernel OOM-killed every child of the burst",
  );
  // The writer keeps trying while the API is away; it is not dead.
  await sleep(5_000);
  const during = await metrics();
  assert.ok(op.alive(), "the operator exited during the outage");
  assert.ok(
    metric(during, /kernel_gossip_operator_whisper_retries_total\{reason="unavailable"\} (\d+)/) >
      0,
    "no whisper write was retried during the outage",
  );
  assert.equal(metric(during, /kernel_gossip_operator_writer_errors_total (\d+)/), 0);
  await outage;
  sampling.on = false;
  await sampler;

  const kernel = await Promise.all(cgs.map((c) => c.kernelKills()));
  const want = new Map(cgs.map((c, i) => [c.path, kernel[i] ?? NaN]));
  await eventually(
    "every whisper equal to the kernel's oom_kill count",
    async () => {
      const ws = await whispers();
      const ok = [...want].every(([path, n]) => {
        const w = ws.find((x) => x.spec.subject.cgroupPath === path);
        return w?.spec.occurrences === n && w.status?.observedGeneration === w.metadata.generation;
      });
      return ok ? ws : undefined;
    },
    60_000,
  ).catch(async (err: unknown) => {
    const ws = await whispers().catch(() => []);
    const got = [...want].map(
      ([p, n]) =>
        `${p}: ${ws.find((x) => x.spec.subject.cgroupPath === p)?.spec.occurrences ?? "none"}/${n}`,
    );
    throw new Error(`${String(err)}; whisper/kernel: ${got.join(", ")}`);
  });
  const after = await metrics();
  const received = metric(
    after,
    /kernel_gossip_operator_observer_events_total\{type="oom_kill",outcome="ok"\} (\d+)/,
  );
  assert.equal(received, BURST + 20 * CGROUPS, "OOM events received from the observer");
  assert.equal(metric(after, /kernel_gossip_operator_observer_gap_events_total\{[^}]*\} (\d+)/), 0);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(
    `API outage: ${BURST} OOM kills in ${burstSeconds.toFixed(1)} s during a ${OUTAGE_MS / 1000} s outage; ` +
      `operator RSS ${mib(baseline)} MiB before, max ${mib(maxRss)} MiB during (+${mib(maxRss - baseline)} MiB)`,
  );
  assert.ok(
    maxRss - baseline < RSS_BOUND,
    `operator RSS grew ${mib(maxRss - baseline)} MiB during the outage (bound ${mib(RSS_BOUND)} MiB)`,
  );
});
