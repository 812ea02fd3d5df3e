// Leader election on a coordination.k8s.io Lease: one replica acts (writes
// whispers, runs actions), the others wait and report not-ready. Optimistic
// concurrency (resourceVersion) decides races; a leader that cannot renew
// within the lease duration steps down before another may take over.
import * as k8s from "@kubernetes/client-node";
import { statusCode, type Kube } from "./kube.ts";
import type { Log } from "./log.ts";

export interface LeaderConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseMs: number;
  renewMs: number;
}

export interface LeaderCallbacks {
  onStart: () => void;
  onStop: () => void | Promise<void>;
}

export function leaderElector(cfg: LeaderConfig, kube: Kube, cb: LeaderCallbacks, log: Log) {
  let leader = false;
  let lastRenew = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  // MicroTime: the API server insists on six fractional digits, which a plain Date lacks.
  const micro = (d: Date | number) => new k8s.V1MicroTime(d);
  const spec = (prev: k8s.V1LeaseSpec | undefined, now: Date): k8s.V1LeaseSpec => {
    const takingOver = prev?.holderIdentity !== cfg.identity;
    return {
      holderIdentity: cfg.identity,
      leaseDurationSeconds: Math.ceil(cfg.leaseMs / 1000),
      acquireTime: micro(takingOver ? now : (prev.acquireTime ?? now)),
      renewTime: micro(now),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (takingOver && prev ? 1 : 0),
    };
  };

  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const lease = await kube.readLease(cfg.namespace, cfg.name);
    if (!lease) {
      await kube.createLease(cfg.namespace, {
        metadata: { name: cfg.name, namespace: cfg.namespace },
        spec: spec(undefined, now),
      });
      return true;
    }
    const s = lease.spec;
    const holder = s?.holderIdentity ?? "";
    const renewed = s?.renewTime ? new Date(s.renewTime).getTime() : 0;
    const expired = renewed + (s?.leaseDurationSeconds ?? 0) * 1000 < now.getTime();
    if (holder !== cfg.identity && holder !== "" && !expired) return false;
    await kube.replaceLease(cfg.namespace, cfg.name, { ...lease, spec: spec(s, now) });
    return true;
  }

  async function round() {
    try {
      const ok = await tryAcquireOrRenew();
      if (ok) lastRenew = Date.now();
      if (ok && !leader) {
        leader = true;
        log.info({ identity: cfg.identity }, "became leader");
        cb.onStart();
      } else if (!ok && leader) {
        await stepDown("lease taken by another replica");
      }
    } catch (err) {
      const code = statusCode(err);
      if (code !== 409) log.warn({ err: String(err) }, "lease round failed");
      if (leader && Date.now() - lastRenew > cfg.leaseMs * 0.8)
        await stepDown("could not renew the lease");
    }
  }

  async function stepDown(reason: string) {
    leader = false;
    log.warn({ identity: cfg.identity, reason }, "stepped down");
    await cb.onStop();
  }

  return {
    isLeader: () => leader,
    start() {
      // A function, not the variable: stop() flips it while round() is awaited.
      const active = () => !stopped;
      const loop = async () => {
        if (!active()) return;
        await round();
        if (active()) timer = setTimeout(() => void loop(), cfg.renewMs);
      };
      void loop();
    },
    /** Stops campaigning; a leader releases the lease so a standby takes over at once. */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (!leader) return;
      leader = false;
      await cb.onStop();
      try {
        const lease = await kube.readLease(cfg.namespace, cfg.name);
        if (lease?.spec?.holderIdentity === cfg.identity) {
          await kube.replaceLease(cfg.namespace, cfg.name, {
            ...lease,
            spec: {
              ...lease.spec,
              holderIdentity: "",
              acquireTime: micro(lease.spec.acquireTime ?? 0),
              renewTime: micro(0),
            },
          });
        }
      } catch (err) {
        log.warn({ err: String(err) }, "lease release failed");
      }
    },
  };
}
