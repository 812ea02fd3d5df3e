// A real single-node Kubernetes node for tests, started against a test control
// plane (./cluster.ts): the real kubelet, Debian's containerd 1.6 and
// runc, CNI bridge networking on a private bridge, images built locally. Pods
// created through the API server with spec.nodeName set to this node (there
// is no scheduler) really run here. stop() undoes everything it set up and
// reports what, if anything, is left changed on the host.
// Decisions: docs/adr/0030 (node shape), 0031 (host changes), 0032 (images).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { kubeBinaries, kubeletBinary } from "./binaries.ts";
import { runKubectl, type KubectlResult } from "./cluster.ts";
import { bridgeName, createNetwork, type NodeNetwork } from "./node/cni.ts";
import { containerdSocket, startContainerd, type Containerd } from "./node/containerd.ts";
import { bindNodeRole, controlPlaneOf, nodeKubeconfig } from "./node/credentials.ts";
import {
  cgroupMounts,
  diffSnapshots,
  hostSnapshot,
  removeCgroupTree,
  type HostSnapshot,
} from "./node/host.ts";
import { nodeImages, type NodeImages } from "./node/images.ts";
import { removeMountpoints, startKubelet, type Kubelet } from "./node/kubelet.ts";
import {
  NODE_DIR_PREFIX,
  otherLiveNodes,
  pidsWithArg,
  sweepStaleNodes,
  writeOwner,
} from "./node/stale.ts";
import { freePort } from "./cluster.ts";
import { sleep, tail, waitFor } from "./process.ts";

const run = promisify(execFile);

export interface TestNode {
  name: string;
  dir: string;
  /** The node's address: our bridge's IP, where kubelet listens and pods can be reached. */
  nodeIp: string;
  /** Kubelet's cgroupRoot, e.g. "/kg-node-1a2b3c4d"; pods live in <root>/kubepods/… */
  cgroupRoot: string;
  images: NodeImages;
  containerd: Containerd;
  kubelet: Kubelet;
  network: NodeNetwork;
  kubectl: (args: string[], input?: string) => Promise<KubectlResult>;
  /** Seconds from start() until the Node reported Ready. */
  readySeconds: number;
  hostBefore: HostSnapshot;
  stop: () => Promise<TeardownReport>;
}

export interface TeardownReport {
  /** Host differences left after teardown (should be empty). */
  leftovers: string[];
  /** What kubelet tried to set on the masked tunables, vs. the host value. */
  kubeletSysctls: Record<string, { host: string; kubelet: string }>;
}

export interface NodeOptions {
  kubeconfig: string;
  log?: (line: string) => void;
  /** OCI runtime binary for containerd's runc shim (default /usr/sbin/runc). */
  runc?: string;
}

/** Creates /<root> in every cgroup hierarchy (kubelet requires its cgroupRoot to exist). */
async function makeCgroupRoot(root: string): Promise<void> {
  for (const mount of cgroupMounts()) {
    const dir = join(mount, root);
    await mkdir(dir, { recursive: true });
    // A fresh v1 cpuset cgroup has no CPUs or memory nodes; tasks could not join it.
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      const parent = join(mount, f);
      if (existsSync(parent) && existsSync(join(dir, f))) {
        await writeFile(join(dir, f), await readFile(parent, "utf8"));
      }
    }
  }
}

/** Mount points at or below `dir` (host namespace), deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

async function nodeReady(kubectl: TestNode["kubectl"], name: string): Promise<boolean> {
  const r = await kubectl([
    "get",
    "node",
    name,
    "-o",
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]);
  return r.code === 0 && r.stdout.trim() === "True";
}

export async function startNode(opts: NodeOptions): Promise<TestNode> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const id = randomBytes(4).toString("hex");
  const name = `kg-node-${id}`;
  const cgroupRoot = `/${name}`;
  const swept = await sweepStaleNodes();
  if (swept.length) log(`swept leftovers of dead test nodes: ${swept.join(", ")}`);
  const dir = await mkdtemp(join(tmpdir(), NODE_DIR_PREFIX));
  await writeOwner(dir, { bridge: bridgeName(id), cgroupRoot, socket: containerdSocket(dir) });
  const hostBefore = await hostSnapshot(dir);
  const kubectlBin = kubeBinaries().kubectl;
  const kubectl = (args: string[], input?: string) =>
    runKubectl(kubectlBin, opts.kubeconfig, args, input);

  // Teardown steps, pushed as each part comes up and run in reverse.
  const undo: { what: string; fn: () => Promise<unknown> }[] = [];
  let kubelet: Kubelet | undefined;
  let containerd: Containerd | undefined;
  let network: NodeNetwork | undefined;
  // Every container/sandbox id containerd held at teardown (for the CNI cache sweep).
  const containerIds = new Set<string>();

  const stop = async (): Promise<TeardownReport> => {
    const errors: string[] = [];
    const kubeletSysctls = (await kubelet?.maskedSysctls().catch(() => undefined)) ?? {};
    for (const step of undo.reverse()) {
      try {
        await step.fn();
      } catch (err) {
        errors.push(`${step.what}: ${(err as Error).message}`);
      }
    }
    undo.length = 0;
    await removeMountpoints(dir).catch((err: unknown) => {
      errors.push(`remove mount points: ${String(err)}`);
    });
    const after = await hostSnapshot(dir);
    const ours = {
      bridge: bridgeName(id),
      subnetPrefix: network ? network.subnet.replace(/0\/24$/, "") : "none",
      othersLive: otherLiveNodes(dir),
    };
    const leftovers = [...errors, ...diffSnapshots(hostBefore, after, ours)];
    for (const m of cgroupMounts()) {
      if (existsSync(join(m, cgroupRoot))) leftovers.push(`cgroup left: ${join(m, cgroupRoot)}`);
    }
    if (leftovers.length) log(`teardown leftovers: ${leftovers.join("; ")}`);
    return { leftovers, kubeletSysctls };
  };

  try {
    log(`node ${name}: dir ${dir}`);
    undo.push({ what: "remove node dir", fn: () => rm(dir, { recursive: true, force: true }) });
    undo.push({
      what: "unmount node dir",
      fn: async () => {
        for (const m of mountsUnder(dir)) {
          await run("umount", [m]).catch(() => run("umount", ["-l", m]));
        }
      },
    });

    const images = await nodeImages();
    log(`images: ${images.busybox.ref}, ${images.pause.ref}, ${images.nginx.ref}`);

    const net = await createNetwork(dir, id);
    network = net;
    undo.push({ what: "remove bridge", fn: net.remove });
    undo.push({
      what: "remove CNI cache entries",
      fn: () => removeCniCache(net.networkName, containerIds, hostBefore),
    });
    log(`network: bridge ${net.bridge} ${net.subnet}, node IP ${net.nodeIp}`);

    await makeCgroupRoot(cgroupRoot);
    undo.push({
      what: "remove cgroups",
      fn: async () => {
        const left = await removeCgroupTree(cgroupRoot);
        if (left.length) throw new Error(`cgroups left: ${left.join(", ")}`);
      },
    });

    containerd = await startContainerd({
      dir,
      sandboxImage: images.pause.ref,
      cniConfDir: net.confDir,
      runc: opts.runc,
    });
    const cd = containerd;
    undo.push({
      what: "stop containerd and shims",
      fn: async () => {
        await removeAllContainers(cd, containerIds).catch(() => undefined);
        await cd.stop();
        for (const pid of pidsWithArg(cd.socket, "containerd-shim")) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone
          }
        }
        await removeRunContainerd(hostBefore);
      },
    });
    for (const img of [images.pause, images.busybox, images.nginx]) {
      await cd.ctr(["images", "import", img.archive]);
    }
    log(`containerd ${cd.socket} (pid ${cd.pid}): images imported`);

    const cp = controlPlaneOf(opts.kubeconfig);
    const credsDir = join(dir, "credentials");
    await mkdir(credsDir);
    const nodeConfig = await nodeKubeconfig(credsDir, name, cp);
    const binding = await bindNodeRole(kubectl, name);
    undo.push({
      what: "delete node object and role binding",
      fn: async () => {
        await kubectl(["delete", "node", name, "--ignore-not-found", "--wait=false"]);
        await kubectl(["delete", "clusterrolebinding", binding, "--ignore-not-found"]);
      },
    });

    const [port, healthzPort] = [await freePort(), await freePort()];
    kubelet = await startKubelet({
      bin: kubeletBinary(),
      dir,
      nodeName: name,
      nodeIp: net.nodeIp,
      kubeconfig: nodeConfig,
      runtimeSocket: cd.socket,
      cgroupRoot,
      port,
      healthzPort,
    });
    const kl = kubelet;
    undo.push({
      what: "delete pods and stop kubelet",
      fn: async () => {
        // While kubelet still runs, so it stops containers and tears down sandboxes itself.
        await kubectl([
          "delete",
          "pods",
          "-A",
          `--field-selector=spec.nodeName=${name}`,
          "--timeout=60s",
        ]);
        await kl.stop();
      },
    });
    log(`kubelet starting (log ${kl.logPath})`);
    await waitFor("kubelet", kl.child, kl.logPath, 180_000, () => nodeReady(kubectl, name));
    const readySeconds = (Date.now() - started) / 1000;
    log(`node ${name} Ready after ${readySeconds.toFixed(1)}s`);
    return {
      name,
      dir,
      nodeIp: net.nodeIp,
      cgroupRoot,
      images,
      containerd: cd,
      kubelet: kl,
      network: net,
      kubectl,
      readySeconds,
      hostBefore,
      stop,
    };
  } catch (err) {
    const detail = kubelet ? `\nkubelet log:\n${tail(kubelet.logPath, 40)}` : "";
    await stop();
    throw new Error(`${(err as Error).message}${detail}`, { cause: err });
  }
}

/** Kills and deletes every task and container left in containerd's k8s.io namespace. */
async function removeAllContainers(cd: Containerd, seen: Set<string>): Promise<void> {
  const ids = (await cd.ctr(["containers", "list", "-q"])).split("\n").filter(Boolean);
  for (const id of ids) seen.add(id);
  for (const id of ids) {
    await cd.ctr(["tasks", "kill", "--signal", "SIGKILL", id]).catch(() => undefined);
  }
  if (ids.length) await sleep(300);
  for (const id of ids) {
    await cd.ctr(["tasks", "delete", "--force", id]).catch(() => undefined);
    await cd.ctr(["containers", "delete", id]).catch(() => undefined);
  }
}

/**
 * libcni caches results in /var/lib/cni whatever the config says; a clean CNI DEL
 * removes them, a crash does not. Drop our network's entries and the loopback
 * entries of our sandboxes (`ids`).
 */
async function removeCniCache(
  network: string,
  ids: Set<string>,
  before: HostSnapshot,
): Promise<void> {
  const results = "/var/lib/cni/results";
  for (const f of existsSync(results) ? readdirSync(results) : []) {
    const sandbox = /^cni-loopback-([0-9a-f]{64})-/.exec(f)?.[1];
    if (f.startsWith(`${network}-`) || (sandbox && ids.has(sandbox))) {
      await unlink(join(results, f)).catch(() => undefined);
    }
  }
  if (!before.globalDirs.includes("/var/lib/cni")) {
    // rmdir only: anything another user put there stays.
    for (const d of [results, "/var/lib/cni"]) await rmdir(d).catch(() => undefined);
  }
}

/** containerd 1.6 puts shim sockets in /run/containerd/s whatever its state dir is. */
async function removeRunContainerd(before: HostSnapshot): Promise<void> {
  if (before.globalDirs.includes("/run/containerd")) return;
  for (let i = 0; i < 20 && existsSync("/run/containerd/s"); i++) {
    if (readdirSync("/run/containerd/s").length === 0) break;
    await sleep(250);
  }
  for (const d of ["/run/containerd/s", "/run/containerd"]) {
    await rmdir(d).catch(() => undefined);
  }
}

/** Absolute paths of one pod-level cgroup directory in every hierarchy that has it. */
export function podCgroupDirs(node: TestNode, qos: string, uid: string): string[] {
  const rel = join(node.cgroupRoot, "kubepods", qos === "guaranteed" ? "" : qos, `pod${uid}`);
  return cgroupMounts()
    .map((m) => join(m, rel))
    .filter((d) => existsSync(d));
}
