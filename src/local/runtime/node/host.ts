// What a test node may change on the host, measured: a snapshot of the kernel
// settings kubelet and the CNI bridge plugin are known to write, the packet
// filter rules, the mounts, links and global directories the node touches. The
// node takes one before it starts and one after it stops; tests compare them.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { sleep } from "../process.ts";

const run = promisify(execFile);

/** Sysctls kubelet's setupKernelTunables writes unless protectKernelDefaults, plus ip_forward (CNI bridge with isGateway). */
export const WATCHED_SYSCTLS = [
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
  "net/ipv4/ip_forward",
];

/** Global paths containerd 1.6, CNI and kubelet use whatever their configuration says. */
export const GLOBAL_DIRS = [
  "/var/lib/kubelet",
  "/var/log/containers",
  "/var/lib/cni",
  "/run/containerd",
];

export interface HostSnapshot {
  sysctls: Record<string, string>;
  /** `iptables-save` without counters and comments (empty when iptables is missing). */
  iptables: string;
  /** Mount points (host mount namespace) whose path mentions `marker`. */
  mounts: string[];
  links: string[];
  globalDirs: string[];
}

export function readSysctl(name: string): string {
  return readFileSync(join("/proc/sys", name), "utf8").trim();
}

async function iptablesRules(): Promise<string> {
  try {
    const { stdout } = await run("iptables-save", []);
    return stdout
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .map((l) => l.replace(/\[\d+:\d+\]/g, ""))
      .join("\n");
  } catch {
    return "";
  }
}

async function linkNames(): Promise<string[]> {
  const { stdout } = await run("ip", ["-o", "link", "show"]);
  return stdout
    .split("\n")
    .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1] ?? "")
    .filter(Boolean)
    .sort();
}

export async function hostSnapshot(marker: string): Promise<HostSnapshot> {
  const sysctls: Record<string, string> = {};
  for (const s of WATCHED_SYSCTLS) sysctls[s] = readSysctl(s);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.includes(marker));
  return {
    sysctls,
    iptables: await iptablesRules(),
    mounts,
    links: await linkNames(),
    globalDirs: GLOBAL_DIRS.filter((d) => existsSync(d)),
  };
}

/** What identifies this node's own traces among concurrent tests' changes to the host. */
export interface Ours {
  bridge: string;
  /** e.g. "10.231.7." */
  subnetPrefix: string;
  /** Another test node is alive: the shared global dirs are legitimately still there. */
  othersLive: boolean;
}

/**
 * Differences between two snapshots that this node could have caused (empty when
 * it left the host as it was). Other suites run concurrently, so only rules that
 * are kubelet's (KUBE-*) or name our bridge/subnet count, and only our bridge.
 */
export function diffSnapshots(before: HostSnapshot, after: HostSnapshot, ours: Ours): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(before.sysctls)) {
    if (after.sysctls[k] !== v) out.push(`sysctl ${k}: ${v} -> ${after.sysctls[k] ?? "?"}`);
  }
  const added = (a: string[], b: string[]) => b.filter((x) => !a.includes(x));
  const rules = (t: string) => t.split("\n");
  const mine = (r: string) =>
    r.includes("KUBE-") || r.includes(ours.bridge) || r.includes(ours.subnetPrefix);
  for (const r of added(rules(before.iptables), rules(after.iptables)).filter(mine)) {
    out.push(`iptables rule left: ${r}`);
  }
  for (const m of added(before.mounts, after.mounts)) out.push(`mount left: ${m}`);
  if (after.links.includes(ours.bridge)) out.push(`link left: ${ours.bridge}`);
  if (!ours.othersLive) {
    for (const d of added(before.globalDirs, after.globalDirs)) out.push(`directory left: ${d}`);
  }
  return out;
}

/** Every cgroup hierarchy mount point (v1 controllers, named hierarchies and the v2 tree). */
export function cgroupMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(" ")[4] ?? "")
    .filter(Boolean);
}

/** All directories below `dir`, deepest first. */
async function subdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    out.push(...(await subdirs(p)), p);
  }
  return out;
}

/**
 * Removes the cgroup subtree `path` (e.g. "/kg-node-ab12") from every hierarchy,
 * deepest first. Kills what is still inside first (a crashed run can leave
 * container processes); retries rmdir while the kernel finishes the exits.
 * Returns the directories that could not be removed.
 */
export async function removeCgroupTree(path: string): Promise<string[]> {
  const left: string[] = [];
  for (const mount of cgroupMounts()) {
    const top = join(mount, path);
    if (!existsSync(top)) continue;
    const dirs = [...(await subdirs(top)), top];
    for (const d of dirs) {
      const procs = (() => {
        try {
          return readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
        } catch {
          return [];
        }
      })();
      for (const pid of procs) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    for (const d of dirs) {
      for (let i = 0; i < 50 && existsSync(d); i++) await rmdir(d).catch(() => sleep(100));
      if (existsSync(d)) left.push(d);
    }
  }
  return left;
}
