// Birth event → writer. Names the pod first (the observer may know only the
// pod UID from kubelet's cgroup path); a birth with no pod at all — a bare
// container, a systemd service — has no namespace to hold a certificate and
// is only counted.
import type { ObserverEvent } from "../../shared/model/observer-events.ts";
import type { Log } from "../log.ts";
import type { OperatorMetrics } from "../metrics.ts";
import type { PodRef } from "../observer/pod-index.ts";
import { namedPod } from "./build.ts";
import type { birthWriter } from "./writer.ts";

export type BirthObserverEvent = Extract<ObserverEvent, { type: "birth" }>;

export interface BirthIngestDeps {
  writer: Pick<ReturnType<typeof birthWriter>, "submit">;
  lookup: (uid: string, node: string) => Promise<PodRef | undefined>;
  /** A miss is looked up once more after this long (the pod index spaces its lists). */
  retryLookupMs?: number;
  metrics: OperatorMetrics;
  log: Log;
}

export function birthIngest(deps: BirthIngestDeps) {
  const skip = (ev: BirthObserverEvent, reason: "no-pod" | "unresolved") => {
    deps.metrics.birthEventsSkipped.inc({ reason });
    deps.log.debug(
      { reason, node: ev.node, cgroup: ev.workload.cgroup, window: ev.evidence.windowId },
      "birth event without a pod: no certificate",
    );
  };

  return async (ev: BirthObserverEvent): Promise<void> => {
    const w = ev.workload;
    let named = namedPod(w);
    if (!named && w.podUID) {
      const uid = w.podUID;
      const again = () =>
        new Promise<PodRef | undefined>((resolve) =>
          setTimeout(() => resolve(deps.lookup(uid, ev.node)), deps.retryLookupMs ?? 2_100),
        );
      // A birth is one event per pod life: worth a second look before giving up.
      const ref = (await deps.lookup(uid, ev.node)) ?? (await again());
      if (!ref) {
        skip(ev, "unresolved");
        return;
      }
      named = { namespace: ref.namespace, pod: ref.name };
    }
    if (!named) {
      skip(ev, "no-pod");
      return;
    }
    deps.writer.submit({
      node: ev.node,
      ts: ev.ts,
      ...named,
      ...(w.podUID ? { podUID: w.podUID.replaceAll("_", "-") } : {}),
      evidence: ev.evidence,
    });
  };
}
