// demo throttle: bursty workers under a tight CPU quota. Together they burst on
// every CPU at once for a few ms, then sleep, so over a second they use a small
// share of their limit while the kernel throttles nearly every period they run
// in — the gap between averaged CPU metrics and CFS throttling that
// kernel-gossip is about. Every figure printed is read from cpu.stat /
// cpuacct.usage of the demo's own cgroup.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { demoCgroup, isV2, kv, type DemoCgroup } from "./cgroup.ts";
import { exited, sleep, spawnIn } from "./spawn.ts";

export interface ThrottleOptions {
  seconds: number;
  limitCores: number;
  burstMs: number;
  everyMs: number;
  workers: number;
}

// Measured on the 2-core reference VM under other load (10 s runs): 0.07–0.09 cores
// used (35–46 % of the limit) while 44–69 % of the periods it ran in were throttled.
export const throttleDefaults = (): ThrottleOptions => ({
  seconds: 60,
  limitCores: 0.2,
  burstMs: 40,
  everyMs: 1000,
  workers: 2,
});

// Each worker wakes at every wall-clock multiple of EVERY and spins until it
// has used BURST ms of CPU (CPU time, not wall time: on a busy machine the
// burst still asks for the same work), then sleeps to the next multiple. All
// workers burst in the same instants without talking to each other. Exported:
// the dashboard scenes run the same worker inside a pod (src/local/scenes).
export const WORKER = `
const every = Number(process.env.KG_EVERY_MS), burst = Number(process.env.KG_BURST_MS) * 1000;
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
const tick = () => {
  const start = cpu();
  while (cpu() - start < burst) {}
  setTimeout(tick, every - (Date.now() % every));
};
setTimeout(tick, every - (Date.now() % every));
`;

interface Sample {
  periods: number;
  throttled: number;
  throttledSec: number;
  usageSec: number;
}

async function sample(cg: DemoCgroup): Promise<Sample> {
  const stat = await cg.read("cpu", "cpu.stat");
  const v2 = isV2();
  const usageSec = v2 ? kv(stat, "usage_usec") / 1e6 : Number(await readUsageV1(cg)) / 1e9;
  return {
    periods: kv(stat, "nr_periods"),
    throttled: kv(stat, "nr_throttled"),
    throttledSec: v2 ? kv(stat, "throttled_usec") / 1e6 : kv(stat, "throttled_time") / 1e9,
    usageSec,
  };
}

// v1: usage lives in cpuacct, which may be a different hierarchy from cpu.
async function readUsageV1(cg: DemoCgroup): Promise<string> {
  const candidates = cg.procs.map((p) => p.replace(/cgroup\.procs$/, "cpuacct.usage"));
  for (const c of candidates) {
    const text = await readFile(c, "utf8").catch(() => "");
    if (text) return text.trim();
  }
  return "0";
}

function line(label: string, a: Sample, b: Sample, windowSec: number, limit: number): string {
  const periods = b.periods - a.periods;
  const throttled = b.throttled - a.throttled;
  const cores = (b.usageSec - a.usageSec) / windowSec;
  const pct = periods ? Math.round((throttled / periods) * 100) : 0;
  return (
    `${label} used ${cores.toFixed(2)} cores = ${Math.round((cores / limit) * 100)} % of the ` +
    `${limit}-core limit; kernel throttled ${throttled}/${periods} periods (${pct} %), ` +
    `${((b.throttledSec - a.throttledSec) * 1000).toFixed(0)} ms throttled`
  );
}

export async function demoThrottle(o: ThrottleOptions, stop: AbortSignal): Promise<number> {
  const path = `/kernel-gossip-demo/throttle-${randomBytes(3).toString("hex")}`;
  const cg = await demoCgroup(path, ["cpu"]);
  const period = 100_000;
  const quota = Math.round(o.limitCores * period);
  try {
    // A high CPU weight so the bursts really get the CPUs on a busy machine (the
    // demo is about the quota, not about competing with everything else).
    if (isV2()) {
      await cg.write("cpu", "cpu.max", `${quota} ${period}`);
      await cg.write("cpu", "cpu.weight", "10000");
    } else {
      await cg.write("cpu", "cpu.cfs_period_us", String(period));
      await cg.write("cpu", "cpu.cfs_quota_us", String(quota));
      await cg.write("cpu", "cpu.shares", "10240");
    }
    console.log(
      `demo throttle: cgroup ${path}, CPU limit ${o.limitCores} cores (quota ${quota / 1000} ms per ` +
        `${period / 1000} ms period); ${o.workers} workers each burst ${o.burstMs} ms of CPU every ${o.everyMs} ms ` +
        `for ${o.seconds} s. Ctrl+C stops early.`,
    );
    const workers = Array.from({ length: o.workers }, () =>
      spawnIn(cg.procs, [process.execPath, "-e", WORKER], {
        env: { KG_EVERY_MS: String(o.everyMs), KG_BURST_MS: String(o.burstMs) },
      }),
    );
    const first = await sample(cg);
    let prev = first;
    const t0 = Date.now();
    while (Date.now() - t0 < o.seconds * 1000 && !stop.aborted) {
      await Promise.race([
        sleep(1000),
        new Promise((r) => stop.addEventListener("abort", r, { once: true })),
      ]);
      if (workers.some((w) => w.exitCode !== null)) throw new Error("a demo worker exited early");
      const now = await sample(cg);
      console.log(
        line(`[${Math.round((Date.now() - t0) / 1000)}s] last 1 s:`, prev, now, 1, o.limitCores),
      );
      prev = now;
    }
    const total = (Date.now() - t0) / 1000;
    console.log(
      line(`demo throttle: over ${total.toFixed(0)} s:`, first, prev, total, o.limitCores),
    );
    for (const w of workers) w.kill("SIGKILL");
    await Promise.all(workers.map(exited));
    return 0;
  } finally {
    await cg.remove();
    console.log(`demo throttle: removed ${path}`);
  }
}
