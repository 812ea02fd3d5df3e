// A real memory cgroup with a small limit, and real OOM kills in it: each
// oomOnce() starts `tail /dev/zero` inside (it buffers an endless line) until
// the kernel's memcg OOM killer kills it. The kernel's own count of kills is
// read back from the cgroup (v1 memory.oom_control oom_kill, v2 memory.events
// oom_kill), so tests compare against the kernel, not against themselves.
// stop() removes the cgroup; safe to call twice.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sleep } from "./process.ts";

const V1 = "/sys/fs/cgroup/memory";
const v2 = !existsSync(join(V1, "memory.limit_in_bytes"));
const ROOT = v2 ? "/sys/fs/cgroup" : V1;

export interface MemoryCgroup {
  /** Path below the hierarchy root, as the observer reports it ("/kg-oom-…"). */
  path: string;
  dir: string;
  /** One OOM kill: resolves when the victim has exited. */
  oomOnce: () => Promise<void>;
  /** The kernel's count of OOM kills in this cgroup. */
  kernelKills: () => Promise<number>;
  stop: () => Promise<void>;
}

export async function memoryCgroup(
  opts: { name?: string; limitBytes?: number } = {},
): Promise<MemoryCgroup> {
  const name = opts.name ?? `kg-oom-${randomBytes(3).toString("hex")}`;
  const dir = join(ROOT, name);
  const limit = String(opts.limitBytes ?? 16 * 2 ** 20);
  await mkdir(dir);
  try {
    if (v2) await writeFile(join(dir, "memory.max"), limit);
    else {
      await writeFile(join(dir, "memory.limit_in_bytes"), limit);
      // Without swap accounting this file is absent: the memory limit alone decides.
      await writeFile(join(dir, "memory.memsw.limit_in_bytes"), limit).catch(() => undefined);
    }
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    throw err;
  }
  return {
    path: `/${name}`,
    dir,
    oomOnce: () =>
      new Promise<void>((resolve, reject) => {
        const c = spawn(
          "setpriv",
          [
            "--pdeathsig",
            "SIGKILL",
            "sh",
            "-c",
            `echo $$ > ${join(dir, "cgroup.procs")} && exec tail /dev/zero`,
          ],
          { stdio: "ignore" },
        );
        c.on("error", reject);
        c.on("exit", () => resolve());
      }),
    async kernelKills() {
      const text = await readFile(join(dir, v2 ? "memory.events" : "memory.oom_control"), "utf8");
      return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? NaN);
    },
    async stop() {
      for (let i = 0; i < 50 && existsSync(dir); i++) await rmdir(dir).catch(() => sleep(100));
    },
  };
}
