// The stack the dashboard scenes play on: what `./kg run` starts (./components:
// API server, observer, operator, Prometheus + Alertmanager with the shipped
// rules, gateway) plus the real kubelet test node (../runtime/node.ts), whose
// name the observer carries so it names the node's pods and captures their
// births. Needs root; start it under the host lock (`flock /tmp/kg-host.lock`)
// when other runs share the machine. stop() undoes everything, node included.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { kubeBinaries } from "../runtime/binaries.ts";
import { runKubectl, type KubectlResult } from "../runtime/cluster.ts";
import { startNode, type TestNode } from "../runtime/node.ts";
import { nodejsImage, type NodeImage } from "../runtime/node/images.ts";
import {
  alerting,
  gateway,
  kubernetes,
  newEnv,
  observer,
  operator,
  type Env,
  type Running,
} from "../components.ts";

export interface SceneStack {
  env: Env;
  node: TestNode;
  /** Node.js as an image on the node: the CLI demos' workloads run in it. */
  nodejs: NodeImage;
  kubectl: (args: string[], input?: string) => Promise<KubectlResult>;
  /** Everything that must be set for the renderer: gateway URL and token, Prometheus URL. */
  endpoints: { gatewayUrl: string; gatewayToken: string; prometheusUrl: string };
  stop: () => Promise<void>;
}

export interface StackOptions {
  /** An API server already running (a test run's shared one); else one is started. */
  kubeconfig?: string;
  scrapeIntervalSeconds?: number;
  log?: (line: string) => void;
}

/**
 * A high CPU weight for the test node's own cgroup (it made it; it goes with the
 * node), as `demo throttle` gives its cgroup: on a busy machine the bursts then
 * really run and meet the quota, which is what the scene shows — without it the
 * pod mostly waits for a CPU and its quota is rarely used up.
 */
async function favourNode(node: TestNode) {
  const weights: [string, string, string][] = [
    ["/sys/fs/cgroup/cpu", "cpu.shares", "10240"],
    ["/sys/fs/cgroup/unified", "cpu.weight", "10000"],
    ["/sys/fs/cgroup", "cpu.weight", "10000"],
  ];
  for (const [dir, file, value] of weights) {
    const path = join(dir, node.cgroupRoot, file);
    if (existsSync(path)) await writeFile(path, value);
  }
}

export async function startSceneStack(o: StackOptions = {}): Promise<SceneStack> {
  if (process.getuid?.() !== 0) throw new Error("the scenes need root (kubelet, BPF, iptables)");
  const log = o.log ?? ((l: string) => console.error(`  scenes: ${l}`));
  const env = await newEnv();
  env.scrapeIntervalSeconds = o.scrapeIntervalSeconds ?? 15;
  // One birth window per pod even while the machine is busy: kubelet starts the app
  // container only after the sandbox's network is up (ADR 0017).
  env.observerArgs = ["--birth-sandbox-grace-ms", "20000"];
  const parts: Running[] = [];
  let node: TestNode | undefined;
  const stop = async () => {
    for (const p of [...parts].reverse()) await p.stop().catch((e: unknown) => log(String(e)));
    parts.length = 0;
    const report = await node?.stop();
    if (report?.leftovers.length) log(`test node leftovers: ${report.leftovers.join("; ")}`);
  };
  try {
    if (o.kubeconfig) {
      env.kubeconfig = o.kubeconfig;
      env.kubectl = kubeBinaries().kubectl;
    } else {
      parts.push(await kubernetes(env));
    }
    const kubeconfig = env.kubeconfig ?? "";
    const kubectl = (args: string[], input?: string) =>
      runKubectl(kubeBinaries().kubectl, kubeconfig, args, input);
    // The operator's own namespace (its whispers about non-pod workloads).
    await kubectl(["create", "namespace", "kernel-gossip"]);
    log("starting the kubelet test node");
    node = await startNode({ kubeconfig, log });
    env.nodeName = node.name;
    await favourNode(node);
    const nodejs = await nodejsImage();
    await node.containerd.ctr(["images", "import", nodejs.archive]);
    log(`node ${node.name} ready; image ${nodejs.ref} imported`);
    const obs = await observer(env);
    if (!obs) throw new Error("the observer did not start");
    parts.push(obs);
    parts.push(await operator(env));
    parts.push(...(await alerting(env)));
    parts.push(await gateway(env));
    if (!env.gatewayUrl || !env.prometheusUrl) throw new Error("gateway or Prometheus missing");
    return {
      env,
      node,
      nodejs,
      kubectl,
      endpoints: {
        gatewayUrl: env.gatewayUrl,
        gatewayToken: env.gatewayToken,
        prometheusUrl: env.prometheusUrl,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
