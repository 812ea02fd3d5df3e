// Pod UID → namespace/name, from a pod informer (list + watch, reconnecting),
// so an observer event that knows only the pod UID from the cgroup path
// (kubelet's layout) still names the pod when the observer has no API access.
import * as k8s from "@kubernetes/client-node";
import type { Log } from "../log.ts";

export interface PodRef {
  namespace: string;
  name: string;
}

export function podIndex(kc: k8s.KubeConfig, log: Log) {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const byUid = new Map<string, PodRef>();
  const informer = k8s.makeInformer(kc, "/api/v1/pods", () => core.listPodForAllNamespaces());
  const put = (p: k8s.V1Pod) => {
    const uid = p.metadata?.uid;
    if (uid && p.metadata?.name && p.metadata.namespace) {
      byUid.set(uid, { namespace: p.metadata.namespace, name: p.metadata.name });
    }
  };
  informer.on("add", put);
  informer.on("update", put);
  informer.on("delete", (p) => byUid.delete(p.metadata?.uid ?? ""));
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  informer.on("error", (err: unknown) => {
    // stop() aborts the watch, which reports as an error: that one is expected.
    if (stopped) return;
    log.warn({ err: String(err) }, "pod informer failed; restarting in 2s");
    retry = setTimeout(() => void informer.start().catch(() => undefined), 2_000);
  });
  return {
    start: () => informer.start(),
    stop: async () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      await informer.stop();
    },
    /** The pod with this UID; accepts kubelet's underscore form (systemd driver). */
    lookup: (uid: string) => byUid.get(uid.replaceAll("_", "-")),
  };
}
