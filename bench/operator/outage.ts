// Operator memory through API outages (ADR 0075): the operator as its own
// process streams the real observer; kube-apiserver is killed, and while it is
// away the kernel OOM-kills tasks in four memory cgroups. Each phase is one
// outage; the first has no kills (the baseline: what an outage alone costs),
// the others a small and a large burst. Per phase it prints the operator's
// resident memory before and at most during the outage, the OOM events it
// received, and how long after the API returned every whisper equalled the
// kernel's oom_kill count.
//   node --import tsx bench/operator/outage.ts [--small 2500] [--large 10000]
// Needs root (BPF, cgroups). Prints figures; asserts nothing.
import type { KernelWhisper } from "../../src/shared/model/kernel-whisper.ts";
import { startOperatorProcess } from "../../tests/support/operator.ts";
import { startCluster } from "../../src/local/runtime/cluster.ts";
import { memoryCgroup } from "../../tests/env/memcg.ts";
import { startObserver } from "../../src/local/runtime/observer.ts";
import { sleep } from "../../src/local/runtime/process.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const NS = "kernel-gossip";
const CGROUPS = 4;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function main() {
  if (process.getuid?.() !== 0) throw new Error("run as root (BPF programs, cgroups)");
  const cluster = await startCluster();
  await cluster.kubectl(["create", "namespace", NS]);
  const cgs = await Promise.all(
    Array.from({ length: CGROUPS }, () => memoryCgroup({ limitBytes: 4 * 2 ** 20 })),
  );
  const observer = await startObserver({ release: true });
  const op = await startOperatorProcess({
    KG_KUBECONFIG: cluster.kubeconfig,
    KG_NAMESPACE: NS,
    KG_OBSERVER_URLS: observer.url,
    KG_LEADER_ELECTION: "false",
    KG_QUIET_PERIOD: "30m",
  });
  const received = async () =>
    Number(
      /kernel_gossip_operator_observer_events_total\{type="oom_kill",outcome="ok"\} (\d+)/.exec(
        await (await fetch(`${op.url}/metrics`)).text(),
      )?.[1] ?? 0,
    );
  const whispers = async () => {
    const res = await cluster.kubectl(["get", "kw", "-n", NS, "-o", "json"]);
    return res.code === 0 ? (JSON.parse(res.stdout) as { items: KernelWhisper[] }).items : [];
  };
  try {
    await sleep(3_000);
    const rows: string[] = [];
    for (const kills of [0, arg("small", 2_500), arg("large", 10_000)]) {
      const before = await op.rssBytes();
      const eventsBefore = await received();
      let max = before;
      const sampling = { on: true };
      const sampler = (async () => {
        while (sampling.on) {
          max = Math.max(max, await op.rssBytes());
          await sleep(250);
        }
      })();
      // The API server stays down until the burst is over, plus 10 s.
      const down = Date.now();
      let burstS = 0;
      const load = async () => {
        const t0 = Date.now();
        if (kills) await Promise.all(cgs.map((c) => c.oomBurst(Math.round(kills / CGROUPS))));
        else await sleep(20_000);
        burstS = (Date.now() - t0) / 1000;
      };
      await cluster.restartApiServer(
        sleep(500)
          .then(load)
          .then(() => sleep(10_000)),
      );
      const outageS = (Date.now() - down) / 1000;
      sampling.on = false;
      await sampler;
      const restored = Date.now();
      const kernel = await Promise.all(cgs.map((c) => c.kernelKills()));
      for (;;) {
        const ws = await whispers();
        const exact = cgs.every(
          (c, i) =>
            (ws.find((w) => w.spec.subject.cgroupPath === c.path)?.spec.occurrences ?? 0) ===
            kernel[i],
        );
        if (exact || Date.now() - restored > 120_000) break;
        await sleep(250);
      }
      const converged = (Date.now() - restored) / 1000;
      rows.push(
        `${String(kills).padStart(6)} kills in ${burstS.toFixed(0)} s  outage ${outageS.toFixed(0)} s  RSS before ${mib(before)}  max ${mib(max)}  (+${mib(max - before)})  ` +
          `events ${(await received()) - eventsBefore}  whispers exact ${converged.toFixed(1)} s after the API returned`,
      );
    }
    console.log("\n== operator memory through API outages (4 cgroups, real OOM kills) ==");
    for (const r of rows) console.log(r);
  } finally {
    await op.stop();
    await observer.stop();
    for (const c of cgs) await c.stop();
    await cluster.stop();
  }
}

await main();
