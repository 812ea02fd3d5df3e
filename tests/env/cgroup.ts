// Real cgroups for scenario tests: a CPU-limited cgroup (CFS quota) at any
// path — e.g. kubelet's cgroupfs layout /kubepods/burstable/pod<uid>/<id> —
// with a busy loop the kernel really throttles. Works on v1 (cpu and cpuacct,
// split or co-mounted) and on a pure v2 host. stop() kills the load and
// removes every directory it made, deepest first; safe to call twice.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alive, sleep } from "../../src/local/runtime/process.ts";

const ROOT = "/sys/fs/cgroup";

export interface CpuStat {
  nrPeriods: number;
  nrThrottled: number;
  throttledSeconds: number;
}

export interface CpuCgroup {
  /** Path below the hierarchy root, as the observer reports it ("/kubepods/…"). */
  path: string;
  quotaCores: number;
  startLoad: () => Promise<void>;
  stopLoad: () => Promise<void>;
  cpuStat: () => Promise<CpuStat>;
  stop: () => Promise<void>;
}

function hierarchies(): { cpu: string; extra: string[]; v2: boolean } {
  if (existsSync(join(ROOT, "cpu,cpuacct")))
    return { cpu: join(ROOT, "cpu,cpuacct"), extra: [], v2: false };
  if (existsSync(join(ROOT, "cpu", "cpu.cfs_quota_us"))) {
    const extra = existsSync(join(ROOT, "cpuacct", "cpuacct.usage")) ? [join(ROOT, "cpuacct")] : [];
    return { cpu: join(ROOT, "cpu"), extra, v2: false };
  }
  return { cpu: ROOT, extra: [], v2: true };
}

const kv = (text: string, key: string) =>
  Number(new RegExp(`^${key} (\\d+)$`, "m").exec(text)?.[1] ?? 0);

/** A random 64-hex container id, as containerd names container cgroups. */
export const containerId = () => randomBytes(32).toString("hex");

export async function cpuCgroup(
  opts: {
    path?: string;
    /** CFS quota in cores (default 0.2); null leaves the cgroup unlimited. */
    quotaCores?: number | null;
    /** The load's program (default a busy loop). */
    load?: string[];
    /** Pin the load to this CPU (taskset). */
    cpu?: number;
  } = {},
): Promise<CpuCgroup> {
  const quotaCores = opts.quotaCores === null ? 0 : (opts.quotaCores ?? 0.2);
  const path = opts.path ?? `/kg-test-${randomBytes(3).toString("hex")}`;
  const { cpu, extra, v2 } = hierarchies();
  const roots = [cpu, ...extra];
  // Every directory we create (not ones that already existed), to remove deepest first.
  const made: string[] = [];
  let child: ChildProcess | undefined;

  const stopLoad = async () => {
    if (child && alive(child)) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
  };
  const stop = async () => {
    await stopLoad();
    for (const d of [...made].reverse()) {
      // rmdir fails with EBUSY until the killed task has left the cgroup.
      for (let i = 0; i < 50 && existsSync(d); i++) await rmdir(d).catch(() => sleep(100));
    }
    made.length = 0;
  };

  const leaf = join(cpu, path);
  try {
    for (const root of roots) {
      let dir = root;
      for (const part of path.split("/").filter(Boolean)) {
        dir = join(dir, part);
        if (!existsSync(dir)) {
          await mkdir(dir);
          made.push(dir);
        }
      }
    }
    const period = 100_000;
    const quota = String(Math.round(quotaCores * period));
    if (quotaCores === 0) {
      // unlimited: leave the kernel's default
    } else if (v2) await writeFile(join(leaf, "cpu.max"), `${quota} ${period}`);
    else {
      await writeFile(join(leaf, "cpu.cfs_period_us"), String(period));
      await writeFile(join(leaf, "cpu.cfs_quota_us"), quota);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    path,
    quotaCores,
    async startLoad() {
      // setpriv --pdeathsig: the loop dies with the test process even on a crash.
      const load = opts.load ?? ["sh", "-c", "while :; do :; done"];
      const pin = opts.cpu !== undefined ? ["taskset", "-c", String(opts.cpu)] : [];
      child = spawn("setpriv", ["--pdeathsig", "SIGKILL", ...pin, ...load], {
        stdio: "ignore",
      });
      const pid = child.pid;
      if (!pid) throw new Error("busy loop did not start");
      for (const root of roots) await writeFile(join(root, path, "cgroup.procs"), String(pid));
    },
    stopLoad,
    async cpuStat() {
      const text = await readFile(join(leaf, "cpu.stat"), "utf8");
      return {
        nrPeriods: kv(text, "nr_periods"),
        nrThrottled: kv(text, "nr_throttled"),
        throttledSeconds: v2 ? kv(text, "throttled_usec") / 1e6 : kv(text, "throttled_time") / 1e9,
      };
    },
    stop,
  };
}
