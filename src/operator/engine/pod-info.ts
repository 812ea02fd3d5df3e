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

export type QosClass = "Guaranteed" | "Burstable" | "BestEffort";

/**
 * The pod's QoS class by Kubernetes' rule: Guaranteed when every container has
 * CPU and memory limits equal to its requests (a request left out defaults to
 * the limit), BestEffort when no container sets any, else Burstable.
 */
export function qosClass(pod: PodInfo): QosClass {
  const cs = pod.containers;
  const none = cs.every(
    (c) =>
      c.cpuLimitCores === undefined &&
      c.cpuRequestCores === undefined &&
      c.memoryLimitBytes === undefined &&
      c.memoryRequestBytes === undefined,
  );
  if (none) return "BestEffort";
  const guaranteed = cs.every(
    (c) =>
      c.cpuLimitCores !== undefined &&
      c.memoryLimitBytes !== undefined &&
      (c.cpuRequestCores ?? c.cpuLimitCores) === c.cpuLimitCores &&
      (c.memoryRequestBytes ?? c.memoryLimitBytes) === c.memoryLimitBytes,
  );
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** The container a finding is about: the named one, or the only one. */
export function pickContainer(pod: PodInfo | undefined, name: string | undefined) {
  if (!pod) return undefined;
  if (name) return pod.containers.find((c) => c.name === name);
  return pod.containers.length === 1 ? pod.containers[0] : undefined;
}
