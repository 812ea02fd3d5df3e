// Leftovers of test nodes whose test process died without teardown (SIGKILL,
// OOM, a crashed runner): kubelet and containerd die with it (pdeathsig), but
// shims, containers, mounts, the bridge and the cgroup tree outlive it. Each
// node writes owner.json into its dir; startNode() sweeps dirs whose owner is
// gone, so a crash costs one run's leftovers, not an accumulation.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { removeCgroupTree } from "./host.ts";

const run = promisify(execFile);
export const NODE_DIR_PREFIX = "kernel-gossip-node-";

export interface Owner {
  pid: number;
  /** Process start time (field 22 of /proc/<pid>/stat): a reused pid is not the owner. */
  started: string;
  bridge: string;
  cgroupRoot: string;
  socket: string;
}

const startTime = (pid: number) => {
  try {
    return (
      readFileSync(`/proc/${String(pid)}/stat`, "utf8")
        .split(") ")[1]
        ?.split(" ")[19] ?? ""
    );
  } catch {
    return "";
  }
};

export async function writeOwner(dir: string, o: Omit<Owner, "pid" | "started">): Promise<void> {
  const owner: Owner = { pid: process.pid, started: startTime(process.pid), ...o };
  await writeFile(join(dir, "owner.json"), JSON.stringify(owner));
}

/** PIDs of processes whose command line names `needle` as one argument. */
export function pidsWithArg(needle: string, binary: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if ((cmd[0] ?? "").includes(binary) && cmd.includes(needle)) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** True when a test node other than the one in `dir` is alive (its owner process runs). */
export function otherLiveNodes(dir: string): boolean {
  for (const name of readdirSync(tmpdir())) {
    const other = join(tmpdir(), name);
    if (!name.startsWith(NODE_DIR_PREFIX) || other === dir) continue;
    try {
      const o = JSON.parse(readFileSync(join(other, "owner.json"), "utf8")) as Owner;
      if (startTime(o.pid) === o.started) return true;
    } catch {
      // not started yet or gone
    }
  }
  return false;
}

/** Cleans up after every node dir whose owning process no longer exists; returns what it swept. */
export async function sweepStaleNodes(): Promise<string[]> {
  const swept: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(NODE_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner: Owner;
    try {
      owner = JSON.parse(readFileSync(join(dir, "owner.json"), "utf8")) as Owner;
    } catch {
      continue; // still starting, or not ours to judge
    }
    if (startTime(owner.pid) === owner.started) continue;
    for (const pid of pidsWithArg(owner.socket, "containerd-shim")) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    // Containers go with their shims' kill above only if the cgroup sweep kills them too.
    await removeCgroupTree(owner.cgroupRoot);
    const mounts = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[4] ?? "")
      .filter((p) => p.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await run("umount", ["-l", m]).catch(() => undefined);
    await run("ip", ["link", "del", owner.bridge]).catch(() => undefined);
    await removeCniResults(owner.cgroupRoot.slice(1), dir, owner.socket);
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
}

/** libcni cache entries and shim sockets of the dead node; then the global dirs if empty. */
async function removeCniResults(network: string, dir: string, socket: string): Promise<void> {
  const tasks = join(dir, "containerd/state/io.containerd.runtime.v2.task/k8s.io");
  const ids = new Set(existsSync(tasks) ? readdirSync(tasks) : []);
  // A killed shim leaves its socket: containerd 1.6 names it sha256(<address>/<ns>/<id>).
  for (const id of ids) {
    const name = createHash("sha256")
      .update(join(socket, "k8s.io", id))
      .digest("hex");
    await rm(join("/run/containerd/s", name), { force: true });
  }
  const results = "/var/lib/cni/results";
  for (const f of existsSync(results) ? readdirSync(results) : []) {
    const sandbox = /^cni-loopback-([0-9a-f]{64})-/.exec(f)?.[1];
    if (f.startsWith(`${network}-`) || (sandbox && ids.has(sandbox))) {
      await rm(join(results, f), { force: true });
    }
  }
  // rmdir only: whatever someone else keeps there stays.
  for (const d of [results, "/var/lib/cni", "/run/containerd/s", "/run/containerd"]) {
    await rmdir(d).catch(() => undefined);
  }
}
