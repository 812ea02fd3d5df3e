// A cgroup the demos create for their workloads, on cgroup v1 (one directory
// per controller hierarchy, cpu and cpuacct split or co-mounted) or v2 (one
// directory). remove() kills what is left inside and deletes only the
// directories this module made, deepest first.
import { existsSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

const ROOT = "/sys/fs/cgroup";
export type Controller = "cpu" | "memory";

export const isV2 = () => !existsSync(join(ROOT, "cpu")) && !existsSync(join(ROOT, "cpu,cpuacct"));

/** The hierarchy roots a controller lives in ("cpu" brings cpuacct for usage on v1). */
function roots(c: Controller): string[] {
  if (isV2()) return [ROOT];
  if (c === "memory") return [join(ROOT, "memory")];
  if (existsSync(join(ROOT, "cpu,cpuacct"))) return [join(ROOT, "cpu,cpuacct")];
  return [join(ROOT, "cpu"), ...(existsSync(join(ROOT, "cpuacct")) ? [join(ROOT, "cpuacct")] : [])];
}

export interface DemoCgroup {
  path: string;
  /** The directory holding `file` for a controller (cpu.stat, memory.events…). */
  dir: (c: Controller) => string;
  /** Every cgroup.procs a process must join (one per hierarchy). */
  procs: string[];
  write: (c: Controller, file: string, value: string) => Promise<void>;
  read: (c: Controller, file: string) => Promise<string>;
  remove: () => Promise<void>;
}

export async function demoCgroup(path: string, controllers: Controller[]): Promise<DemoCgroup> {
  const dirs = [...new Set(controllers.flatMap(roots))];
  const made: string[] = [];
  for (const root of dirs) {
    let d = root;
    for (const part of path.split("/").filter(Boolean)) {
      // v2: a child only gets a controller's files when the parent delegates it.
      if (isV2()) {
        const want = controllers.map((c) => `+${c}`).join(" ");
        await writeFile(join(d, "cgroup.subtree_control"), want).catch(() => undefined);
      }
      d = join(d, part);
      if (!existsSync(d)) {
        await mkdir(d);
        made.push(d);
      }
    }
  }
  const dir = (c: Controller) => join(roots(c)[0] ?? ROOT, path);
  return {
    path,
    dir,
    procs: dirs.map((r) => join(r, path, "cgroup.procs")),
    write: (c, file, value) => writeFile(join(dir(c), file), value),
    read: (c, file) => readFile(join(dir(c), file), "utf8"),
    async remove() {
      for (const d of [...made].reverse()) {
        // Whatever still runs inside is ours: kill it, then rmdir (EBUSY until it left).
        const pids = await readFile(join(d, "cgroup.procs"), "utf8").catch(() => "");
        for (const p of pids.split("\n").filter(Boolean)) {
          try {
            process.kill(Number(p), "SIGKILL");
          } catch {
            // already gone
          }
        }
        // The leaf waits for its killed tasks; a shared parent (another demo may
        // still use it) gets one try.
        const tries = d.endsWith(path) ? 50 : 1;
        for (let i = 0; i < tries && existsSync(d); i++) {
          await rmdir(d).catch(() => new Promise((r) => setTimeout(r, 100)));
        }
      }
      made.length = 0;
    },
  };
}

export const kv = (text: string, key: string) =>
  Number(new RegExp(`^${key} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
