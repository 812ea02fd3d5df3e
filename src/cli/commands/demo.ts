// `kernel-gossip demo <throttle|oom|drops|birth>`: a real workload on this
// machine that provokes one signal, then cleans up. Needs root (cgroups,
// network namespaces, runc). Watch the result with `kernel-gossip watch`.
import { num, type Args } from "../args.ts";
import { demoBirth } from "../demo/birth.ts";
import { demoDrops } from "../demo/drops.ts";
import { demoOom } from "../demo/oom.ts";
import { demoThrottle, throttleDefaults } from "../demo/throttle.ts";

export const DEMOS = ["throttle", "oom", "drops", "birth"] as const;

export async function demo(a: Args): Promise<number> {
  const which = a.positionals[1];
  if (!DEMOS.includes(which as (typeof DEMOS)[number])) {
    console.error(`usage: kernel-gossip demo <${DEMOS.join("|")}> [options] (see --help)`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    console.error("demo: needs root (it creates cgroups, network namespaces or containers)");
    return 2;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    switch (which) {
      case "throttle": {
        const d = throttleDefaults();
        return await demoThrottle(
          {
            seconds: num(a, "seconds", d.seconds),
            limitCores: num(a, "limit-cores", d.limitCores),
            burstMs: num(a, "burst-ms", d.burstMs),
            everyMs: num(a, "every-ms", d.everyMs),
            workers: num(a, "workers", d.workers),
          },
          stop.signal,
        );
      }
      case "oom":
        return await demoOom({ limitMiB: num(a, "limit-mib", 96), kills: num(a, "kills", 1) });
      case "drops":
        return await demoDrops({ seconds: num(a, "seconds", 10), rate: num(a, "rate", 500) });
      default:
        return await demoBirth();
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
