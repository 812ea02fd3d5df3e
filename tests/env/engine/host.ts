// What a Docker Engine may change on the host, measured (ADR 0071): the packet
// filter (dockerd adds its DOCKER* chains and rules and leaves them when it
// stops), the kernel settings it is known to write, network links, mounts under
// its roots, cgroups under its cgroup parent, and the global directories dockerd
// and containerd use whatever their configuration says. A snapshot is taken
// before the engine starts and after it stops; restoreFilter() then removes
// exactly the rules and chains that appeared in between, so rules other users
// added meanwhile are never touched.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { cgroupMounts, readSysctl } from "../../../src/local/runtime/node/host.ts";

const run = promisify(execFile);

/** Sysctls dockerd writes when its options allow (forwarding, bridge netfilter, localnet routing). */
export const ENGINE_SYSCTLS = [
  "net/ipv4/ip_forward",
  "net/ipv6/conf/all/forwarding",
  "net/ipv4/conf/all/route_localnet",
  "net/bridge/bridge-nf-call-iptables",
  "net/bridge/bridge-nf-call-ip6tables",
];

/** Paths dockerd, containerd and docker-proxy use whatever their configuration says. */
export const ENGINE_GLOBAL_PATHS = [
  "/etc/docker",
  "/var/lib/docker",
  "/var/run/docker.sock",
  "/run/docker",
  "/run/containerd",
  "/var/lib/containerd",
];

export interface EngineHostSnapshot {
  sysctls: Record<string, string>;
  /** iptables-save / ip6tables-save per table: chain → policy, and the rule lines. */
  filter: Record<"ipv4" | "ipv6", FilterTables>;
  links: string[];
  /** Mount points under the engine's roots. */
  mounts: string[];
  globalPaths: string[];
  /** Directories under the cgroup parent, in every hierarchy. */
  cgroups: string[];
}

export type FilterTables = Record<string, { chains: Record<string, string>; rules: string[] }>;

async function save(cmd: string): Promise<FilterTables> {
  const out: FilterTables = {};
  let stdout: string;
  try {
    stdout = (await run(cmd, [])).stdout;
  } catch {
    return out;
  }
  let table = "";
  for (const line of stdout.split("\n")) {
    if (line.startsWith("*")) {
      table = line.slice(1);
      out[table] = { chains: {}, rules: [] };
    } else if (line.startsWith(":")) {
      const [name = "", policy = ""] = line.slice(1).split(" ");
      const t = out[table];
      if (t) t.chains[name] = policy;
    } else if (line.startsWith("-A ")) {
      out[table]?.rules.push(line);
    }
  }
  return out;
}

async function links(): Promise<string[]> {
  const { stdout } = await run("ip", ["-o", "link", "show"]);
  return stdout
    .split("\n")
    .map((l) => /^\d+:\s+([^:@]+)/.exec(l)?.[1] ?? "")
    .filter(Boolean)
    .sort();
}

const mountPoints = (roots: string[]) =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => roots.some((r) => p === r || p.startsWith(`${r}/`)));

function cgroupDirs(parent: string): string[] {
  const out: string[] = [];
  for (const m of cgroupMounts()) {
    const dir = `${m}/${parent}`;
    if (existsSync(dir)) out.push(dir);
  }
  return out;
}

export async function engineSnapshot(
  roots: string[],
  cgroupParent: string,
): Promise<EngineHostSnapshot> {
  const sysctls: Record<string, string> = {};
  for (const s of ENGINE_SYSCTLS) sysctls[s] = existsSync(`/proc/sys/${s}`) ? readSysctl(s) : "";
  return {
    sysctls,
    filter: { ipv4: await save("iptables-save"), ipv6: await save("ip6tables-save") },
    links: await links(),
    mounts: mountPoints(roots),
    globalPaths: ENGINE_GLOBAL_PATHS.filter((p) => existsSync(p)),
    cgroups: cgroupDirs(cgroupParent),
  };
}

/** Splits an iptables-save rule into arguments (double quotes group, as the shell would). */
export function ruleArgs(rule: string): string[] {
  const out: string[] = [];
  for (const m of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? ""));
  }
  return out;
}

/**
 * Removes the rules and chains that are in `after` but not in `before` and puts
 * changed built-in chain policies back; returns what it could not undo.
 */
export async function restoreFilter(
  family: "ipv4" | "ipv6",
  before: FilterTables,
  after: FilterTables,
): Promise<string[]> {
  const cmd = family === "ipv4" ? "iptables" : "ip6tables";
  const failed: string[] = [];
  const tryRun = async (args: string[]) => {
    await run(cmd, args).catch((err: unknown) => {
      failed.push(
        `${cmd} ${args.join(" ")}: ${(err as { stderr?: string }).stderr ?? String(err)}`,
      );
    });
  };
  for (const [table, t] of Object.entries(after)) {
    const b = before[table] ?? { chains: {}, rules: [] };
    // Rules first (built-in chains jump into the added chains), newest last.
    for (const rule of t.rules.filter((r) => !b.rules.includes(r)).reverse()) {
      const [, chain = "", ...spec] = ruleArgs(rule);
      if (chain in b.chains) await tryRun(["-t", table, "-D", chain, ...spec]);
    }
    const added = Object.keys(t.chains).filter((c) => !(c in b.chains));
    for (const c of added) await tryRun(["-t", table, "-F", c]);
    for (const c of added) await tryRun(["-t", table, "-X", c]);
    for (const [c, policy] of Object.entries(b.chains)) {
      if (policy !== "-" && t.chains[c] && t.chains[c] !== policy)
        await tryRun(["-t", table, "-P", c, policy]);
    }
  }
  // With iptables-nft a table exists only once someone adds to it: a table the engine
  // brought into being goes again once it is empty (iptables has no command for that).
  const now = await save(`${cmd}-save`);
  for (const [table, t] of Object.entries(now)) {
    if (table in before || t.rules.length || !(await nftBacked(cmd))) continue;
    await run("nft", ["delete", "table", family === "ipv4" ? "ip" : "ip6", table]).catch(
      (err: unknown) => {
        failed.push(
          `nft delete table ${table}: ${(err as { stderr?: string }).stderr ?? String(err)}`,
        );
      },
    );
  }
  return failed;
}

const nftBacked = async (cmd: string) =>
  (await run(cmd, ["--version"]).catch(() => ({ stdout: "" }))).stdout.includes("nf_tables");

/** Host differences between two snapshots (empty when the engine left the host as it was). */
export function diffEngineSnapshots(
  before: EngineHostSnapshot,
  after: EngineHostSnapshot,
): string[] {
  const out: string[] = [];
  const added = <T>(a: T[], b: T[]) => b.filter((x) => !a.includes(x));
  for (const [k, v] of Object.entries(before.sysctls)) {
    if (after.sysctls[k] !== v) out.push(`sysctl ${k}: ${v} -> ${after.sysctls[k] ?? "?"}`);
  }
  for (const family of ["ipv4", "ipv6"] as const) {
    for (const [table, t] of Object.entries(after.filter[family])) {
      const b = before.filter[family][table] ?? { chains: {}, rules: [] };
      for (const c of added(Object.keys(b.chains), Object.keys(t.chains)))
        out.push(`${family} ${table}: chain left: ${c}`);
      for (const [c, p] of Object.entries(t.chains))
        if (b.chains[c] && b.chains[c] !== p)
          out.push(`${family} ${table}: policy ${c} ${b.chains[c] ?? ""} -> ${p}`);
      for (const r of added(b.rules, t.rules)) out.push(`${family} ${table}: rule left: ${r}`);
    }
  }
  for (const l of added(before.links, after.links)) out.push(`link left: ${l}`);
  for (const m of added(before.mounts, after.mounts)) out.push(`mount left: ${m}`);
  for (const p of added(before.globalPaths, after.globalPaths)) out.push(`path left: ${p}`);
  for (const c of added(before.cgroups, after.cgroups)) out.push(`cgroup left: ${c}`);
  return out;
}
