// A real memory cgroup with a small limit (any path, e.g. kubelet's
// /kubepods/burstable/pod<uid>/<id>), and real kernel events in it: each
// oomOnce() starts `tail /dev/zero` inside (it buffers an endless line) until
// the kernel's memcg OOM killer kills it; oomBurst(n) makes n kills as fast as
// the kernel allows; reclaim() writes a file larger than the limit from
// inside, so the kernel reclaims page cache (memory stalls). The kernel's own count of kills is
// read back from the cgroup (v1 memory.oom_control oom_kill, v2 memory.events
// oom_kill), so tests compare against the kernel, not against themselves.
// stop() removes the cgroup; safe to call twice.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../../src/local/runtime/process.ts";

const V1 = "/sys/fs/cgroup/memory";
const v2 = !existsSync(join(V1, "memory.limit_in_bytes"));
const ROOT = v2 ? "/sys/fs/cgroup" : V1;

// The burst's children: join the cgroup, make themselves the OOM killer's first
// choice, touch one byte per page of 64 MiB. The parent counts SIGKILLed children.
const BURST = `
import os, sys
memcg, n, killed = sys.argv[1], int(sys.argv[2]), 0
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        with open(os.path.join(memcg, "cgroup.procs"), "w") as f: f.write("0")
        with open("/proc/self/oom_score_adj", "w") as f: f.write("1000")
        b = bytearray(64 << 20)
        for i in range(0, len(b), 4096): b[i] = 1
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    killed += os.WIFSIGNALED(st) and os.WTERMSIG(st) == 9
print(killed)
`;

export interface MemoryCgroup {
  /** Path below the hierarchy root, as the observer reports it ("/kg-oom-…"). */
  path: string;
  dir: string;
  /** One OOM kill: resolves when the victim has exited. */
  oomOnce: () => Promise<void>;
  /**
   * `n` OOM kills as fast as the kernel makes them (~150/s per cgroup here): a
   * Python parent outside the cgroup forks children that join it and touch
   * 64 MiB. Resolves with how many children the kernel killed (SIGKILL).
   */
  oomBurst: (n: number) => Promise<number>;
  /** The kernel's count of OOM kills in this cgroup. */
  kernelKills: () => Promise<number>;
  /** Writes `mib` MiB to a disk file from inside the cgroup (then removes the file). */
  reclaim: (mib: number) => Promise<void>;
  stop: () => Promise<void>;
}

export async function memoryCgroup(
  opts: { path?: string; limitBytes?: number } = {},
): Promise<MemoryCgroup> {
  const path = opts.path ?? `/kg-oom-${randomBytes(3).toString("hex")}`;
  const dir = join(ROOT, path);
  const limit = String(opts.limitBytes ?? 16 * 2 ** 20);
  // Every directory made here (not ones that already existed), removed deepest first.
  const made: string[] = [];
  let at = ROOT;
  for (const part of path.split("/").filter(Boolean)) {
    at = join(at, part);
    if (!existsSync(at)) {
      await mkdir(at);
      made.push(at);
    }
  }
  const remove = async () => {
    for (const d of [...made].reverse())
      for (let i = 0; i < 50 && existsSync(d); i++) await rmdir(d).catch(() => sleep(100));
    made.length = 0;
  };
  try {
    if (v2) await writeFile(join(dir, "memory.max"), limit);
    else {
      await writeFile(join(dir, "memory.limit_in_bytes"), limit);
      // Without swap accounting this file is absent: the memory limit alone decides.
      await writeFile(join(dir, "memory.memsw.limit_in_bytes"), limit).catch(() => undefined);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  const inside = (script: string) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(
        "setpriv",
        [
          "--pdeathsig",
          "SIGKILL",
          "sh",
          "-c",
          `echo $$ > ${join(dir, "cgroup.procs")} && ${script}`,
        ],
        { stdio: "ignore" },
      );
      c.on("error", reject);
      c.on("exit", () => resolve());
    });
  return {
    path,
    dir,
    oomOnce: () => inside("exec tail /dev/zero"),
    oomBurst: (n: number) =>
      new Promise<number>((resolve, reject) => {
        const c = spawn(
          "setpriv",
          ["--pdeathsig", "SIGKILL", "python3", "-c", BURST, dir, String(n)],
          {
            stdio: ["ignore", "pipe", "inherit"],
          },
        );
        let out = "";
        c.stdout.on("data", (b: Buffer) => (out += b.toString()));
        c.on("error", reject);
        c.on("exit", (code) =>
          code === 0 ? resolve(Number(out.trim())) : reject(new Error(`oom burst exited ${code}`)),
        );
      }),
    async reclaim(mib: number) {
      const file = join(tmpdir(), `kg-reclaim-${randomBytes(4).toString("hex")}`);
      try {
        await inside(`exec dd if=/dev/zero of=${file} bs=1M count=${mib} status=none`);
      } finally {
        await rm(file, { force: true });
      }
    },
    async kernelKills() {
      const text = await readFile(join(dir, v2 ? "memory.events" : "memory.oom_control"), "utf8");
      return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? NaN);
    },
    stop: remove,
  };
}
