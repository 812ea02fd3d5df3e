// The slice of a Pod the engine reasons about: per-container limits and the
// workload that owns the pod (where a lasting change has to be made).
import { parseQuantity } from "./quantity.ts";

export interface ContainerResources {
  name: string;
  cpuLimitCores?: number;
  cpuRequestCores?: number;
  memoryLimitBytes?: number;
  memoryRequestBytes?: number;
}

export interface WorkloadRef {
  apiVersion: string;
  kind: string;
  name: string;
}

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  containers: ContainerResources[];
  /** The top-level controller (a Deployment for a ReplicaSet's pod), if any. */
  owner?: WorkloadRef;
  /** Container id (runtime prefix removed) → container name, from the pod's status. */
  containerIds?: Record<string, string>;
}

interface RawContainer {
  name: string;
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}

/** Reads container resources from a Pod object as the API returns it. */
export function containerResources(containers: RawContainer[]): ContainerResources[] {
  return containers.map((c) => ({
    name: c.name,
    cpuLimitCores: parseQuantity(c.resources?.limits?.cpu),
    cpuRequestCores: parseQuantity(c.resources?.requests?.cpu),
    memoryLimitBytes: parseQuantity(c.resources?.limits?.memory),
    memoryRequestBytes: parseQuantity(c.resources?.requests?.memory),
  }));
}

/** The container a finding is about: the named one, or the only one. */
export function pickContainer(pod: PodInfo | undefined, name: string | undefined) {
  if (!pod) return undefined;
  if (name) return pod.containers.find((c) => c.name === name);
  return pod.containers.length === 1 ? pod.containers[0] : undefined;
}
