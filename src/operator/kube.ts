// The operator's Kubernetes access: typed calls over @kubernetes/client-node
// for exactly what it does — whispers, pods and their owners, Events, pod
// resize and workload patches (guarded), and Leases.
import * as k8s from "@kubernetes/client-node";
import { API_VERSION, GROUP, VERSION } from "../shared/model/meta.ts";
import type {
  KernelWhisper,
  KernelWhisperSpec,
  KernelWhisperStatus,
} from "../shared/model/kernel-whisper.ts";
import { containerResources, type PodInfo, type WorkloadRef } from "./engine/pod-info.ts";
import { apiClient } from "./kube-http.ts";

const PLURAL = "kernelwhispers";
/** Request option for a JSON merge patch (custom resources take no strategic merge). */
export const merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const strategic = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);

export function loadKubeConfig(path?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault(); // KUBECONFIG, ~/.kube/config, or in-cluster
  return kc;
}

export const statusCode = (err: unknown): number | undefined =>
  err instanceof k8s.ApiException ? err.code : undefined;

export const isNotFound = (err: unknown) => statusCode(err) === 404;

interface Status {
  reason?: string;
  message?: string;
  details?: { kind?: string; causes?: { reason?: string }[] };
}

/** The API server's Status body of a failed call, when it sent one. */
export function apiStatus(err: unknown): Status | undefined {
  if (!(err instanceof k8s.ApiException)) return undefined;
  const body: unknown = err.body;
  if (typeof body === "object" && body !== null) return body;
  if (typeof body !== "string") return undefined;
  try {
    return JSON.parse(body) as Status;
  } catch {
    return undefined;
  }
}

/**
 * The write failed because its namespace does not exist (404 on namespaces)
 * or is being deleted (403 NamespaceTerminating): writing elsewhere is the only
 * way to keep the object.
 */
export function namespaceGone(err: unknown): boolean {
  const code = statusCode(err);
  const s = apiStatus(err);
  if (code === 404) return s?.details?.kind === "namespaces";
  if (code === 403)
    return s?.details?.causes?.some((c) => c.reason === "NamespaceTerminating") ?? false;
  return false;
}

/** Group, version and plural of one of our CRDs in a namespace, as CustomObjectsApi takes them. */
export const crdIn = (plural: string) => (namespace: string) => ({
  group: GROUP,
  version: VERSION,
  plural,
  namespace,
});

export type Kube = ReturnType<typeof kubeClient>;

/** Typed calls over `http` (see kube-http.ts: deadlines, identity, optional fence). */
export function kubeClient(kc: k8s.KubeConfig, http: k8s.HttpLibrary) {
  const custom = apiClient(kc, k8s.CustomObjectsApi, http);
  const core = apiClient(kc, k8s.CoreV1Api, http);
  const apps = apiClient(kc, k8s.AppsV1Api, http);
  const coordination = apiClient(kc, k8s.CoordinationV1Api, http);
  const discovery = apiClient(kc, k8s.DiscoveryV1Api, http);
  const crd = crdIn(PLURAL);

  return {
    server: kc.getCurrentCluster()?.server ?? "",

    async getWhisper(namespace: string, name: string): Promise<KernelWhisper | undefined> {
      try {
        return (await custom.getNamespacedCustomObject({
          ...crd(namespace),
          name,
        })) as KernelWhisper;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },

    async createWhisper(
      namespace: string,
      name: string,
      spec: KernelWhisperSpec,
      labels: Record<string, string>,
      annotations: Record<string, string> = {},
    ) {
      const body = {
        apiVersion: API_VERSION,
        kind: "KernelWhisper",
        metadata: { name, namespace, labels, annotations },
        spec,
      };
      return (await custom.createNamespacedCustomObject({
        ...crd(namespace),
        body,
      })) as KernelWhisper;
    },

    async patchWhisperSpec(namespace: string, name: string, spec: Partial<KernelWhisperSpec>) {
      return (await custom.patchNamespacedCustomObject(
        { ...crd(namespace), name, body: { spec } },
        merge,
      )) as KernelWhisper;
    },

    async patchWhisperStatus(namespace: string, name: string, status: KernelWhisperStatus) {
      return (await custom.patchNamespacedCustomObjectStatus(
        { ...crd(namespace), name, body: { status } },
        merge,
      )) as KernelWhisper;
    },

    /** The pod's per-container resources and its top-level owner (Deployment for a ReplicaSet). */
    async getPod(namespace: string, name: string): Promise<PodInfo | undefined> {
      let pod: k8s.V1Pod;
      try {
        pod = await core.readNamespacedPod({ namespace, name });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
      let owner: WorkloadRef | undefined;
      const ref = pod.metadata?.ownerReferences?.find((o) => o.controller);
      if (ref?.kind === "ReplicaSet") {
        const rs = await apps
          .readNamespacedReplicaSet({ namespace, name: ref.name })
          .catch(() => undefined);
        const top = rs?.metadata?.ownerReferences?.find((o) => o.controller);
        owner = top
          ? { apiVersion: top.apiVersion, kind: top.kind, name: top.name }
          : { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name };
      } else if (ref) {
        owner = { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name };
      }
      const containerIds: Record<string, string> = {};
      for (const c of pod.status?.containerStatuses ?? []) {
        // "containerd://<id>", "cri-o://<id>", "docker://<id>" → "<id>"
        const id = c.containerID?.replace(/^[a-z-]+:\/\//, "");
        if (id) containerIds[id] = c.name;
      }
      return {
        namespace,
        name,
        uid: pod.metadata?.uid ?? "",
        containers: containerResources(pod.spec?.containers ?? []),
        owner,
        containerIds,
      };
    },

    async createEvent(event: k8s.CoreV1Event) {
      const namespace = event.metadata.namespace ?? "default";
      await core.createNamespacedEvent({ namespace, body: event });
    },

    /** In-place resize through the pod's resize subresource (Kubernetes ≥ 1.33). */
    async resizePod(namespace: string, name: string, patch: object) {
      await core.patchNamespacedPodResize({ namespace, name, body: patch }, strategic);
    },

    async patchWorkload(ref: WorkloadRef & { namespace: string }, patch: object) {
      const args = { namespace: ref.namespace, name: ref.name, body: patch };
      switch (ref.kind) {
        case "Deployment":
          return apps.patchNamespacedDeployment(args, strategic);
        case "StatefulSet":
          return apps.patchNamespacedStatefulSet(args, strategic);
        case "DaemonSet":
          return apps.patchNamespacedDaemonSet(args, strategic);
        default:
          throw new Error(`cannot patch a ${ref.kind}`);
      }
    },

    async readLease(namespace: string, name: string) {
      try {
        return await coordination.readNamespacedLease({ namespace, name });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    createLease: (namespace: string, body: k8s.V1Lease) =>
      coordination.createNamespacedLease({ namespace, body }),
    replaceLease: (namespace: string, name: string, body: k8s.V1Lease) =>
      coordination.replaceNamespacedLease({ namespace, name, body }),

    async listObserverEndpoints(namespace: string, service: string): Promise<string[]> {
      const list = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: `kubernetes.io/service-name=${service}`,
      });
      const urls: string[] = [];
      for (const slice of list.items) {
        const port = slice.ports?.find((p) => p.name === "http")?.port ?? 9464;
        for (const ep of slice.endpoints) {
          if (ep.conditions?.ready === false) continue;
          for (const addr of ep.addresses)
            urls.push(`http://${addr.includes(":") ? `[${addr}]` : addr}:${port}`);
        }
      }
      return urls;
    },
  };
}
