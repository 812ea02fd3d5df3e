// Pod UID → namespace/name, so an observer event that knows only the pod UID
// from the cgroup path (kubelet's layout) still names the pod when the
// observer has no API access. On a miss it lists the pods bound to the event's
// node (field selector spec.nodeName), at most once per node every few
// seconds; no long-lived watch to keep open.
import * as k8s from "@kubernetes/client-node";
import { apiClient } from "../kube-http.ts";
import type { Log } from "../log.ts";

export interface PodRef {
  namespace: string;
  name: string;
}

const MIN_RELIST_MS = 2_000;

export function podIndex(kc: k8s.KubeConfig, http: k8s.HttpLibrary, log: Log) {
  const core = apiClient(kc, k8s.CoreV1Api, http);
  const byUid = new Map<string, PodRef>();
  const listedAt = new Map<string, number>();
  const inflight = new Map<string, Promise<void>>();

  /** Lists the node's pods; callers during a list share it, and lists are spaced out. */
  function relist(node: string): Promise<void> {
    const running = inflight.get(node);
    if (running) return running;
    if (Date.now() - (listedAt.get(node) ?? 0) < MIN_RELIST_MS) return Promise.resolve();
    const p = list(node).finally(() => {
      inflight.delete(node);
      listedAt.set(node, Date.now());
    });
    inflight.set(node, p);
    return p;
  }

  async function list(node: string): Promise<void> {
    try {
      const list = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
      for (const p of list.items) {
        const uid = p.metadata?.uid;
        if (uid && p.metadata?.name && p.metadata.namespace) {
          byUid.set(uid, { namespace: p.metadata.namespace, name: p.metadata.name });
        }
      }
      if (byUid.size > 50_000) byUid.clear(); // bounded; refilled on demand
    } catch (err) {
      log.warn({ node, err: String(err) }, "listing the node's pods failed");
    }
  }

  return {
    /** The pod with this UID on `node`; accepts kubelet's underscore form (systemd driver). */
    async lookup(uid: string, node: string): Promise<PodRef | undefined> {
      const key = uid.replaceAll("_", "-");
      const hit = byUid.get(key);
      if (hit) return hit;
      await relist(node);
      return byUid.get(key);
    },
  };
}
