// Packet-filter rules inside a pod's own network namespace (never the host's):
// the pod's container pid comes from containerd, iptables runs in that netns
// through nsenter. Rules vanish with the namespace when the pod goes.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { KubectlResult } from "../runtime/cluster.ts";
import type { TestNode } from "../runtime/node.ts";

const run = promisify(execFile);

interface PodStatus {
  status: { podIP?: string; containerStatuses?: { containerID?: string }[] };
}

export async function podStatus(
  kubectl: (args: string[]) => Promise<KubectlResult>,
  namespace: string,
  name: string,
): Promise<{ ip: string; containerId: string }> {
  const r = await kubectl(["get", "pod", "-n", namespace, name, "-o", "json"]);
  if (r.code !== 0) throw new Error(`get pod ${namespace}/${name}: ${r.stderr}`);
  const p = JSON.parse(r.stdout) as PodStatus;
  const id = (p.status.containerStatuses?.[0]?.containerID ?? "").replace(/^\w+:\/\//, "");
  if (!p.status.podIP || !id)
    throw new Error(`pod ${namespace}/${name} has no IP or container yet`);
  return { ip: p.status.podIP, containerId: id };
}

/** The host pid of a running container (containerd's task list). */
export async function containerPid(node: TestNode, containerId: string): Promise<number> {
  const out = await node.containerd.ctr(["tasks", "ls"]);
  const line = out.split("\n").find((l) => l.startsWith(containerId));
  const pid = Number(line?.trim().split(/\s+/)[1]);
  if (!pid) throw new Error(`container ${containerId.slice(0, 12)} has no running task`);
  return pid;
}

/** `iptables <args>` in the network namespace of process `pid`. */
export async function iptablesIn(pid: number, args: string[]): Promise<void> {
  await run("nsenter", [`--net=/proc/${pid}/ns/net`, "iptables", ...args]);
}
