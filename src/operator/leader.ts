// Leader election on a coordination.k8s.io Lease with client-go's semantics
// (ADR 0077, amending 0006): one replica acts (writes whispers and
// certificates, runs actions), the others wait and report not-ready.
//
// - Expiry is judged by the time this replica *observed* the lease record
//   change, on its own clock — never by comparing the holder's renewTime with
//   the local clock.
// - The leader's renew deadline counts from the moment its last successful
//   renewal was *sent*, and a timer enforces it: a hung request cannot keep a
//   leader leading. Every request has a deadline (kube-http.ts).
// - Leadership is a term: an AbortSignal handed to onStart and aborted the
//   moment the term ends, which fences every write made under it (in-flight
//   requests are aborted, new ones are not sent). Stepping down never flushes.
//
// Others may take over only after observing our last renewal and waiting the
// lease duration; we stop at most renewDeadline after sending it, so with
// renewDeadline < lease duration our last write precedes any takeover.
import * as k8s from "@kubernetes/client-node";
import { statusCode, type Kube } from "./kube.ts";
import type { Log } from "./log.ts";

export interface LeaderConfig {
  namespace: string;
  name: string;
  identity: string;
  /** How long a holder's claim lasts after others observe it (client-go LeaseDuration). */
  leaseMs: number;
  /** A leader that has not renewed for this long since sending its last renewal steps down. */
  renewDeadlineMs: number;
  /** Time between attempts (client-go RetryPeriod). */
  retryMs: number;
}

export interface LeaderCallbacks {
  /** Leadership began; `term` aborts the moment it ends. */
  onStart: (term: AbortSignal) => void;
  /** Leadership ended (the term is already aborted). Must not write. */
  onStop: (reason: string) => void | Promise<void>;
}

/** Client-go's defaults, scaled by the caller through LeaderConfig. */
export const LEASE_DEFAULTS = { leaseMs: 15_000, renewDeadlineMs: 10_000, retryMs: 2_000 };

export function leaderElector(cfg: LeaderConfig, kube: Kube, cb: LeaderCallbacks, log: Log) {
  if (!(cfg.renewDeadlineMs < cfg.leaseMs))
    throw new Error("leader election: the renew deadline must be shorter than the lease duration");
  let term: AbortController | undefined;
  /** The lease record as last seen, and when (local clock) it was seen to change. */
  let observed: { raw: string; atMs: number } | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastRenewSentMs = 0;

  // MicroTime: the API server insists on six fractional digits, which a plain Date lacks.
  const micro = (d: Date | number) => new k8s.V1MicroTime(d);
  const leading = () => term !== undefined && !term.signal.aborted;

  const observe = (spec: k8s.V1LeaseSpec | undefined) => {
    const raw = JSON.stringify(spec ?? {});
    if (observed?.raw !== raw) observed = { raw, atMs: Date.now() };
  };

  /** One attempt; true when we hold the lease afterwards (its renewal sent at `sentMs`). */
  async function tryAcquireOrRenew(sentMs: number): Promise<boolean> {
    const now = new Date(sentMs);
    const lease = await kube.readLease(cfg.namespace, cfg.name);
    const claim = (prev: k8s.V1LeaseSpec | undefined): k8s.V1LeaseSpec => {
      const ours = prev?.holderIdentity === cfg.identity;
      return {
        holderIdentity: cfg.identity,
        leaseDurationSeconds: Math.ceil(cfg.leaseMs / 1000),
        acquireTime: micro(ours ? (prev.acquireTime ?? now) : now),
        renewTime: micro(now),
        leaseTransitions: (prev?.leaseTransitions ?? 0) + (ours || !prev ? 0 : 1),
      };
    };
    if (!lease) {
      const created = await kube.createLease(cfg.namespace, {
        metadata: { name: cfg.name, namespace: cfg.namespace },
        spec: claim(undefined),
      });
      observe(created.spec);
      return true;
    }
    observe(lease.spec);
    const holder = lease.spec?.holderIdentity ?? "";
    const durationMs = (lease.spec?.leaseDurationSeconds ?? cfg.leaseMs / 1000) * 1000;
    const valid = observed !== undefined && observed.atMs + durationMs > Date.now();
    if (holder !== "" && holder !== cfg.identity && valid) return false;
    // The resourceVersion read above makes this a compare-and-swap: a replica
    // that renewed or took over meanwhile turns it into a 409.
    const replaced = await kube.replaceLease(cfg.namespace, cfg.name, {
      ...lease,
      spec: claim(lease.spec),
    });
    observe(replaced.spec);
    return true;
  }

  function stepDown(reason: string) {
    const t = term;
    if (!t || t.signal.aborted) return;
    t.abort(new Error(reason));
    clearTimeout(deadline);
    log.warn({ identity: cfg.identity, reason }, "stepped down");
    void Promise.resolve(cb.onStop(reason)).catch((err: unknown) =>
      log.error({ err: String(err) }, "leader onStop failed"),
    );
  }

  /** (Re)arms the renew deadline from the send time of the last successful renewal. */
  function armDeadline() {
    clearTimeout(deadline);
    const left = lastRenewSentMs + cfg.renewDeadlineMs - Date.now();
    deadline = setTimeout(
      () => stepDown(`no renewal within the ${cfg.renewDeadlineMs} ms renew deadline`),
      Math.max(0, left),
    );
  }

  async function round() {
    const sentMs = Date.now();
    try {
      const ok = await tryAcquireOrRenew(sentMs);
      if (stopped) return;
      if (!ok) {
        if (leading()) stepDown("the lease is held by another replica");
        return;
      }
      // A renewal that returns after its own deadline does not extend the term.
      if (leading() || sentMs + cfg.renewDeadlineMs > Date.now()) {
        lastRenewSentMs = sentMs;
        if (!leading()) {
          term = new AbortController();
          log.info({ identity: cfg.identity }, "became leader");
          cb.onStart(term.signal);
        }
        armDeadline();
      }
    } catch (err) {
      if (statusCode(err) !== 409) log.warn({ err: String(err) }, "lease round failed");
      // The deadline timer, not this failure, decides when a leader steps down.
    }
  }

  return {
    isLeader: leading,
    start() {
      // A function, not the variable: stop() flips it while round() is awaited.
      const active = () => !stopped;
      const loop = async () => {
        if (!active()) return;
        await round();
        if (active()) timer = setTimeout(() => void loop(), cfg.retryMs);
      };
      void loop();
    },
    /**
     * Stops campaigning. A leader first runs `beforeRelease` (a final flush,
     * still fenced by the term), then ends its term and releases the lease so
     * a standby takes over at once.
     */
    async stop(beforeRelease: () => Promise<void> = () => Promise.resolve()) {
      stopped = true;
      clearTimeout(timer);
      if (!leading()) return;
      await beforeRelease().catch((err: unknown) =>
        log.warn({ err: String(err) }, "final flush before release failed"),
      );
      const wasLeading = leading();
      stepDown("shutting down");
      if (!wasLeading) return;
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
