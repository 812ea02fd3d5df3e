// Shared by the node benchmarks: start/delete a pod and wait for Running, and
// strace attached to a running daemon (containerd, kubelet), one file per thread.
import { spawn, type ChildProcess } from "node:child_process";
import type { TestNode } from "../../src/local/runtime/node.ts";
import type { PodObject } from "../../src/local/runtime/node/pods.ts";
import { sleep } from "../../src/local/runtime/process.ts";

/** Binaries that count as the container runtime in a cascade (the rest are entrypoints). */
export const RUNTIME_BINS = new Set([
  "containerd-shim-runc-v2",
  "runc",
  "bridge",
  "host-local",
  "loopback",
  "containerd",
]);

export async function startPod(node: TestNode, pod: PodObject): Promise<number> {
  const t0 = Date.now();
  const c = await node.kubectl(["create", "-f", "-"], JSON.stringify(pod));
  if (c.code !== 0) throw new Error(c.stderr);
  const w = await node.kubectl([
    "wait",
    "-n",
    pod.metadata.namespace,
    "--for=jsonpath={.status.phase}=Running",
    "--timeout=180s",
    `pod/${pod.metadata.name}`,
  ]);
  if (w.code !== 0) throw new Error(w.stderr);
  return (Date.now() - t0) / 1000;
}

/** The UID the API server gave the pod. */
export async function podUID(node: TestNode, pod: PodObject): Promise<string> {
  const { namespace, name } = pod.metadata;
  const r = await node.kubectl([
    "get",
    "pod",
    "-n",
    namespace,
    name,
    "-o",
    "jsonpath={.metadata.uid}",
  ]);
  return r.stdout.trim();
}

export async function deletePod(node: TestNode, pod: PodObject): Promise<void> {
  await node.kubectl([
    "delete",
    "pod",
    "-n",
    pod.metadata.namespace,
    pod.metadata.name,
    "--timeout=60s",
  ]);
}

export function strace(pid: number, out: string, filter?: string): ChildProcess {
  const args = ["-f", "-ff", "-ttt", "-y", "-s", "256", "-o", out, "-p", String(pid)];
  if (filter) args.unshift("-e", `trace=${filter}`);
  return spawn("strace", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** Waits until strace reports it attached (it prints to stderr per thread). */
export async function attached(s: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error("strace did not attach"));
    }, 10_000);
    s.stderr?.on("data", (d: Buffer) => {
      if (d.toString().includes("attached")) {
        clearTimeout(timer);
        resolve();
      }
    });
    s.once("exit", () => {
      reject(new Error("strace exited"));
    });
  });
  await sleep(500);
}

export async function detach(s: ChildProcess): Promise<void> {
  const exited = new Promise((r) => s.once("exit", r));
  s.kill("SIGINT");
  await exited;
}
