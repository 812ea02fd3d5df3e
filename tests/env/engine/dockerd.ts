// A Docker Engine of the test's own (ADR 0070, 0071): the real dockerd that
// scripts/setup.sh builds from the Go module proxy, started by hand (no
// systemd here) with its own socket, exec root, pidfile, cgroup parent and
// address pool, so it never meets a user's engine. Its data root persists under
// /var/lib/kernel-gossip/docker, so a warm run reuses image layers and build
// cache. It managed-starts Debian's containerd and runs Debian's runc. The same code
// starts Debian 12's own Docker Engine 20.10 (docker.io, unpacked from its package, not
// installed) with roots of its own, for the older-engine check (ADR 0073).
//
// Host hygiene: it refuses to start beside another dockerd (both would manage the
// DOCKER chains); options keep it from touching what it need not (no IPv4
// forwarding or masquerading, so containers reach nothing beyond this machine;
// no ip6tables; no default bridge); stop() undoes what it changed (its
// packet-filter chains and rules, its cgroup parent, containerd's global
// directories) and reports any difference from the snapshot taken before start.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { engineBinaries } from "../../../src/local/runtime/binaries.ts";
import { removeCgroupTree } from "../../../src/local/runtime/node/host.ts";
import { pidsWithArg } from "../../../src/local/runtime/node/stale.ts";
import { alive, launch, sleep, tail, waitFor } from "../../../src/local/runtime/process.ts";
import { engineApi, type EngineApi } from "./api.ts";
import {
  diffEngineSnapshots,
  engineSnapshot,
  restoreFilter,
  type EngineHostSnapshot,
} from "./host.ts";

const run = promisify(execFile);

/** Compose networks get /24s from here; the test node's bridges use 10.200–10.249. */
export const ADDRESS_POOL = "10.250.0.0/16";

/** Which dockerd, and the directories and cgroup parent that are its own. */
export interface EngineSpec {
  dockerd: string;
  dockerProxy: string;
  /** Image layers, build cache, volumes: kept between runs (a cache, like $KG_CACHE). */
  dataRoot: string;
  /** Socket, pidfile, containerd state, network namespaces: gone after stop(). */
  execRoot: string;
  cgroupParent: string;
  /** Config keys this engine does not know. */
  omit?: string[];
  /** Config keys only this engine has. */
  extra?: Record<string, unknown>;
}

/** Docker Engine 28.5.2 built by scripts/setup.sh (ADR 0070). */
export const modernEngine = (): EngineSpec => {
  const b = engineBinaries();
  return {
    dockerd: b.dockerd,
    dockerProxy: b.dockerProxy,
    dataRoot: "/var/lib/kernel-gossip/docker",
    execRoot: "/run/kernel-gossip-docker",
    cgroupParent: "kernel-gossip-docker",
  };
};

/** Debian 12's docker.io (Docker Engine 20.10), unpacked from the package into the cache. */
export async function debianEngine(): Promise<EngineSpec & { version: string }> {
  const version = /Candidate:\s*(\S+)/.exec(
    (await run("apt-cache", ["policy", "docker.io"])).stdout,
  )?.[1];
  if (!version || version === "(none)") throw new Error("apt-cache knows no docker.io candidate");
  const dir = join(CACHE, `docker.io-deb-${version.replace(/[^\w.+-]/g, "_")}`);
  if (!existsSync(join(dir, "root/usr/sbin/dockerd"))) {
    const work = `${dir}.partial.${String(process.pid)}`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await run("apt-get", ["download", "-q", `docker.io=${version}`], { cwd: work });
    const deb = readdirSync(work).find((f) => f.endsWith(".deb"));
    if (!deb) throw new Error("apt-get download docker.io produced no .deb");
    await run("dpkg-deb", ["-x", join(work, deb), join(work, "root")]);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
  }
  return {
    version,
    dockerd: join(dir, "root/usr/sbin/dockerd"),
    dockerProxy: join(dir, "root/usr/sbin/docker-proxy"),
    dataRoot: "/var/lib/kernel-gossip/docker-20.10",
    execRoot: "/run/kernel-gossip-docker-20.10",
    cgroupParent: "kernel-gossip-docker-20.10",
    // 20.10 knows no containerd snapshotter feature flag, and would write its trust key
    // to /etc/docker/key.json unless told otherwise.
    omit: ["features"],
    extra: { "deprecated-key-path": "/var/lib/kernel-gossip/docker-20.10/key.json" },
  };
}

const CACHE = process.env.KG_CACHE ?? "/var/cache/kernel-gossip";

export interface Engine {
  spec: EngineSpec;
  socket: string;
  /** DOCKER_HOST for clients. */
  host: string;
  version: string;
  pid: number;
  logPath: string;
  api: EngineApi;
  /** Stops the daemon and restores the host; `leftovers` must be empty. */
  stop: () => Promise<EngineTeardown>;
}

export interface EngineTeardown {
  /** What dockerd left that the teardown removed (its chains and rules, directories). */
  cleaned: string[];
  /** Differences from the host before start that remain: should be none. */
  leftovers: string[];
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

/** dockerd processes on this host: [pid, command line]. */
function dockerds(): [number, string][] {
  const out: [number, string][] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/comm`, "utf8").trim() !== "dockerd") continue;
      out.push([Number(e), readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ")]);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function daemonConfig(spec: EngineSpec): string {
  const config: Record<string, unknown> = {
    "data-root": spec.dataRoot,
    "exec-root": spec.execRoot,
    pidfile: join(spec.execRoot, "dockerd.pid"),
    hosts: [`unix://${join(spec.execRoot, "docker.sock")}`],
    "storage-driver": "overlay2",
    "exec-opts": ["native.cgroupdriver=cgroupfs"],
    "cgroup-parent": spec.cgroupParent,
    // No default bridge: build steps get no network (the builds are offline by
    // design) and nothing named docker0 appears.
    bridge: "none",
    "default-address-pools": [{ base: ADDRESS_POOL, size: 24 }],
    // Containers talk to each other and to this machine only: no forwarding or
    // NAT to the outside, and the host's ip_forward and FORWARD policy stay as they are.
    "ip-forward": false,
    "ip-masq": false,
    ip6tables: false,
    "userland-proxy": true,
    "userland-proxy-path": spec.dockerProxy,
    "log-driver": "json-file",
    features: { "containerd-snapshotter": false },
    ...spec.extra,
  };
  const omit = new Set(spec.omit);
  return JSON.stringify(
    Object.fromEntries(Object.entries(config).filter(([k]) => !omit.has(k))),
    null,
    2,
  );
}

/** Leftovers of an earlier run whose test process died: shims, containers, mounts, filter rules. */
async function sweepStale(spec: EngineSpec, log: (l: string) => void): Promise<void> {
  const { execRoot, dataRoot } = spec;
  const ownerFile = join(execRoot, "owner.json");
  if (!existsSync(ownerFile)) return;
  const owner = JSON.parse(await readFile(ownerFile, "utf8")) as { pid: number; started: string };
  if (startTime(owner.pid) === owner.started)
    throw new Error(
      `another test run (pid ${String(owner.pid)}) is using the engine at ${execRoot}; run tests under flock /tmp/kg-host.lock`,
    );
  log(`sweeping the engine of a dead run (pid ${String(owner.pid)})`);
  for (const pid of pidsWithArg(join(execRoot, "containerd/containerd.sock"), "containerd-shim")) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await removeCgroupTree(`/${spec.cgroupParent}`);
  await unmountUnder([execRoot, dataRoot]);
  const beforeFile = join(dataRoot, "host-before.json");
  if (existsSync(beforeFile)) {
    const before = JSON.parse(await readFile(beforeFile, "utf8")) as EngineHostSnapshot;
    const now = await engineSnapshot([execRoot, dataRoot], spec.cgroupParent);
    await restoreFilter("ipv4", before.filter.ipv4, now.filter.ipv4);
    await restoreFilter("ipv6", before.filter.ipv6, now.filter.ipv6);
    for (const l of now.links.filter((x) => !before.links.includes(x) && /^(br-|veth)/.test(x)))
      await run("ip", ["link", "del", l]).catch(() => undefined);
  }
  await rm(execRoot, { recursive: true, force: true });
}

async function unmountUnder(roots: string[]): Promise<string[]> {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => roots.some((r) => p === r || p.startsWith(`${r}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", [m]).catch(() => run("umount", ["-l", m]));
  return mounts;
}

async function restoreSysctls(before: Record<string, string>): Promise<string[]> {
  const changed: string[] = [];
  for (const [k, v] of Object.entries(before)) {
    const path = `/proc/sys/${k}`;
    if (!v || !existsSync(path)) continue;
    const now = (await readFile(path, "utf8")).trim();
    if (now !== v) {
      await writeFile(path, v);
      changed.push(`sysctl ${k}: ${now} -> ${v}`);
    }
  }
  return changed;
}

export async function startEngine(
  opts: { spec?: EngineSpec; log?: (l: string) => void } = {},
): Promise<Engine> {
  const log = opts.log ?? (() => undefined);
  const spec = opts.spec ?? modernEngine();
  const { execRoot, dataRoot, cgroupParent } = spec;
  const socket = join(execRoot, "docker.sock");
  const roots = [execRoot, dataRoot];
  const others = dockerds().filter(([, cmd]) => !cmd.includes(execRoot));
  if (others.length)
    throw new Error(
      `another dockerd runs on this host (${others.map(([p, c]) => `pid ${String(p)}: ${c}`).join("; ")}); ` +
        "two engines would both manage the DOCKER packet-filter chains, so this test does not start one beside it (and never stops it)",
    );
  await sweepStale(spec, log);
  const before = await engineSnapshot(roots, cgroupParent);
  await mkdir(dataRoot, { recursive: true });
  await writeFile(join(dataRoot, "host-before.json"), JSON.stringify(before));
  await mkdir(execRoot, { recursive: true });
  await writeFile(
    join(execRoot, "owner.json"),
    JSON.stringify({ pid: process.pid, started: startTime(process.pid) }),
  );
  const config = join(execRoot, "daemon.json");
  await writeFile(config, daemonConfig(spec));
  // Beside the data root, so it outlives stop() for failure messages; one run's worth.
  const logPath = join(dataRoot, "dockerd.log");
  await writeFile(logPath, "");
  // dockerd finds containerd, containerd-shim-runc-v2 and runc on PATH (Debian's).
  const child = launch(spec.dockerd, ["--config-file", config], logPath, {
    PATH: `/usr/sbin:/usr/bin:/sbin:/bin`,
  });
  const api = engineApi(socket);
  const ping = async () => (await api.call("GET", "/_ping")).text === "OK";
  const teardown = async (): Promise<EngineTeardown> => {
    const cleaned: string[] = [];
    const logTail = tail(logPath, 60);
    if (alive(child)) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(60_000)]);
      if (alive(child)) {
        cleaned.push("dockerd did not stop within 60 s: killed");
        child.kill("SIGKILL");
        await exited;
      }
    }
    // containerd and the shims go with dockerd; wait for them, then make sure.
    const shims = () =>
      pidsWithArg(join(execRoot, "containerd/containerd.sock"), "containerd-shim");
    for (let i = 0; i < 40 && shims().length; i++) await sleep(250);
    for (const pid of shims()) {
      cleaned.push(`shim ${String(pid)} killed`);
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    const stopped = await engineSnapshot(roots, cgroupParent);
    for (const m of await unmountUnder(roots)) cleaned.push(`unmounted ${m}`);
    const failed = [
      ...(await restoreFilter("ipv4", before.filter.ipv4, stopped.filter.ipv4)),
      ...(await restoreFilter("ipv6", before.filter.ipv6, stopped.filter.ipv6)),
    ];
    for (const d of diffEngineSnapshots(before, stopped)) cleaned.push(d);
    cleaned.push(...(await restoreSysctls(before.sysctls)));
    if (!before.cgroups.length) {
      const left = await removeCgroupTree(`/${cgroupParent}`);
      failed.push(...left.map((d) => `cgroup not removable: ${d}`));
    }
    // containerd 1.6 keeps shim sockets in /run/containerd/s, and dockerd makes
    // /run/docker/plugins, whatever their configured directories: rmdir only, so
    // anything another user put there stays.
    for (const [top, dirs] of [
      ["/run/containerd", ["/run/containerd/s", "/run/containerd"]],
      ["/run/docker", ["/run/docker/plugins", "/run/docker"]],
    ] as const) {
      if (before.globalPaths.includes(top)) continue;
      for (const d of dirs)
        await rmdir(d).then(
          () => cleaned.push(`removed ${d}`),
          () => undefined,
        );
    }
    await rm(execRoot, { recursive: true, force: true });
    const after = await engineSnapshot(roots, cgroupParent);
    const leftovers = [...failed, ...diffEngineSnapshots(before, after)];
    if (leftovers.length)
      log(`engine teardown leftovers: ${leftovers.join("; ")}\ndockerd log:\n${logTail}`);
    return { cleaned, leftovers };
  };
  try {
    await waitFor("dockerd", child, logPath, 60_000, ping);
    const version = (await api.get<{ Version: string }>("/version")).Version;
    log(`dockerd ${version} (pid ${String(child.pid)}) on ${socket}, data root ${dataRoot}`);
    return {
      spec,
      socket,
      host: `unix://${socket}`,
      version,
      pid: child.pid ?? 0,
      logPath,
      api,
      stop: teardown,
    };
  } catch (err) {
    const detail = tail(logPath, 40);
    await teardown();
    throw new Error(`${(err as Error).message}\ndockerd log:\n${detail}`, { cause: err });
  }
}
