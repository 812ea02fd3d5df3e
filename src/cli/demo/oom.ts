// demo oom: a process that keeps allocating (and touching) memory inside a
// memory cgroup with a small limit and no swap, until the kernel's OOM killer
// kills it. Repeats --kills times. The figures printed come from the cgroup's
// own files (memory.events / memory.oom_control, max usage) and the exit signal.
import { randomBytes } from "node:crypto";
import { bytes } from "../format.ts";
import { demoCgroup, isV2, kv } from "./cgroup.ts";
import { exited, spawnIn } from "./spawn.ts";

/** Exported: the dashboard scenes run the same allocator inside a pod (src/local/scenes). */
export const HOG = `const keep = []; for (;;) keep.push(Buffer.alloc(4 << 20, 1));`;

export async function demoOom(o: { limitMiB: number; kills: number }): Promise<number> {
  const path = `/kernel-gossip-demo/oom-${randomBytes(3).toString("hex")}`;
  const cg = await demoCgroup(path, ["memory"]);
  const limit = o.limitMiB * 1024 * 1024;
  try {
    if (isV2()) {
      await cg.write("memory", "memory.max", String(limit));
      await cg.write("memory", "memory.swap.max", "0").catch(() => undefined);
    } else {
      await cg.write("memory", "memory.limit_in_bytes", String(limit));
      // Without this the hog would swap instead of being killed.
      await cg.write("memory", "memory.swappiness", "0").catch(() => undefined);
    }
    console.log(
      `demo oom: cgroup ${path}, memory limit ${bytes(limit)}; ${o.kills} allocating process(es)`,
    );
    for (let i = 1; i <= o.kills; i++) {
      const hog = spawnIn(cg.procs, [process.execPath, "-e", HOG]);
      const t0 = Date.now();
      await exited(hog);
      console.log(
        `  process ${i}: ended by ${hog.signalCode ?? `exit ${String(hog.exitCode)}`} after ` +
          `${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    const kills = isV2()
      ? kv(await cg.read("memory", "memory.events"), "oom_kill")
      : kv(await cg.read("memory", "memory.oom_control"), "oom_kill");
    const peak = isV2()
      ? Number((await cg.read("memory", "memory.peak").catch(() => "0")).trim())
      : Number((await cg.read("memory", "memory.max_usage_in_bytes")).trim());
    console.log(
      `demo oom: the kernel counted ${kills} OOM kill(s) in ${path}; peak usage ${bytes(peak)}`,
    );
    return kills > 0 ? 0 : 1;
  } finally {
    await cg.remove();
    console.log(`demo oom: removed ${path}`);
  }
}
