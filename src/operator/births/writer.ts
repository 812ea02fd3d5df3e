// The births writer: each birth event becomes one PodBirthCertificate in the
// pod's namespace. Owned by the Pod (garbage-collected with it) when that Pod
// still exists with the event's UID; otherwise written as an orphan, labelled,
// and bounded by the retention sweep. Writes run a few at a time; the same
// certificate is never written twice at once and a newer delivery replaces a
// queued one. Transient API failures retry with backoff; what the API refuses
// for good (namespace gone, schema) is counted and dropped — never a crash.
import type { OwnerReference } from "../../shared/model/meta.ts";
import type { BirthEvent } from "../../shared/model/observer-events.ts";
import type { PodBirthCertificate } from "../../shared/model/pod-birth-certificate.ts";
import { statusCode } from "../kube.ts";
import type { Log } from "../log.ts";
import type { OperatorMetrics } from "../metrics.ts";
import { apiMessage, type BirthsApi } from "./api.ts";
import {
  birthEvent,
  buildCertificate,
  buildStatus,
  ORPHAN_LABEL,
  type BirthInput,
  type BuiltCertificate,
} from "./build.ts";
import { orphansToDelete, type Retention } from "./retention.ts";

export interface BirthWriterDeps {
  api: BirthsApi;
  metrics: OperatorMetrics;
  log: Log;
  retention: Retention;
  concurrency?: number;
  maxPending?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => Date;
}

interface Job {
  cert: BuiltCertificate;
  evidence: BirthEvent;
  attempts: number;
  notBefore: number;
}

type Outcome = "created" | "updated" | "gone";

/** Retry only what may succeed later: no status (network), 409 races, 429, 5xx. */
const transient = (err: unknown) => {
  const code = statusCode(err);
  return code === undefined || code === 409 || code === 429 || code >= 500;
};

export function birthWriter(deps: BirthWriterDeps) {
  const now = deps.now ?? (() => new Date());
  const concurrency = deps.concurrency ?? 4;
  const maxPending = deps.maxPending ?? 2_000;
  const minBackoff = deps.minBackoffMs ?? 250;
  const maxBackoff = deps.maxBackoffMs ?? 30_000;
  const pending = new Map<string, Job>();
  const inflight = new Set<string>();
  const waiters: (() => void)[] = [];
  let retryTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let running = false;
  let term = 0;

  const { metrics, log } = deps;
  const keyOf = (c: BuiltCertificate) => `${c.namespace}/${c.name}`;

  async function owner(c: BuiltCertificate): Promise<OwnerReference | undefined> {
    const { namespace, pod, podUID } = c.spec.subject;
    const uid = await deps.api.podUID(namespace, pod);
    // A Pod of that name with another UID is a successor (e.g. a StatefulSet
    // replica): owning the certificate would tie it to the wrong life.
    if (!uid || (podUID && uid !== podUID)) return undefined;
    return { apiVersion: "v1", kind: "Pod", name: pod, uid };
  }

  async function write(job: Job): Promise<Outcome> {
    const { cert, evidence } = job;
    const ref = await owner(cert);
    const labels = { ...cert.labels, ...(ref ? {} : { [ORPHAN_LABEL]: "true" }) };
    let obj: PodBirthCertificate;
    let previous: PodBirthCertificate | undefined;
    try {
      obj = await deps.api.create(cert.namespace, cert.name, labels, ref ? [ref] : [], cert.spec);
      metrics.apiWrites.inc({ write: "pbc-create", result: "ok" });
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
      // Re-delivery (or a lost response): update the stored certificate in place.
      previous = await deps.api.get(cert.namespace, cert.name);
      if (!previous) throw err; // deleted in between: retry as a create
      const owned = (previous.metadata.ownerReferences ?? []).length > 0;
      const metadata = ref
        ? { labels: { ...cert.labels, [ORPHAN_LABEL]: null }, ownerReferences: [ref] }
        : { labels: owned ? cert.labels : labels };
      obj = await deps.api.patch(cert.namespace, cert.name, { metadata, spec: cert.spec });
      metrics.apiWrites.inc({ write: "pbc-patch", result: "ok" });
    }
    const status = buildStatus(
      evidence,
      obj.metadata.generation,
      previous?.status?.conditions,
      now(),
    );
    try {
      await deps.api.patchStatus(cert.namespace, cert.name, status);
      metrics.apiWrites.inc({ write: "pbc-status", result: "ok" });
    } catch (err) {
      // Gone already: its Pod was deleted and the garbage collector was quicker.
      if (statusCode(err) === 404) return "gone";
      throw err;
    }
    if (!previous && ref) {
      await deps.api
        .createEvent(birthEvent(cert, ref.uid, evidence.complete, now()))
        .then(() => metrics.apiWrites.inc({ write: "event", result: "ok" }))
        .catch((err: unknown) => {
          metrics.apiWrites.inc({ write: "event", result: "error" });
          log.debug(
            { err: apiMessage(err), pod: cert.spec.subject.pod },
            "birth event not written",
          );
        });
    }
    if (!ref) metrics.birthOrphans.inc();
    return previous ? "updated" : "created";
  }

  async function run(key: string, job: Job) {
    inflight.add(key);
    try {
      const outcome = await write(job);
      metrics.birthCertificates.inc({ result: outcome });
      log.debug({ certificate: key, outcome }, "birth certificate written");
    } catch (err) {
      if (transient(err) && running) {
        job.attempts++;
        job.notBefore = Date.now() + Math.min(minBackoff * 2 ** (job.attempts - 1), maxBackoff);
        // A newer delivery queued meanwhile wins; otherwise retry this one.
        if (!pending.has(key)) pending.set(key, job);
        metrics.birthCertificates.inc({ result: "retried" });
        log.warn(
          { certificate: key, attempts: job.attempts, err: apiMessage(err) },
          "birth write failed; will retry",
        );
      } else {
        metrics.birthCertificates.inc({ result: "failed" });
        log.error(
          { certificate: key, code: statusCode(err), err: apiMessage(err) },
          "birth certificate not written",
        );
      }
    } finally {
      inflight.delete(key);
      metrics.birthPending.set(pending.size + inflight.size);
      pump();
    }
  }

  function pump() {
    clearTimeout(retryTimer);
    retryTimer = undefined;
    const t = Date.now();
    let next = Infinity;
    for (const [key, job] of pending) {
      if (inflight.size >= concurrency) break;
      if (inflight.has(key)) continue;
      if (job.notBefore > t) {
        next = Math.min(next, job.notBefore);
        continue;
      }
      pending.delete(key);
      void run(key, job);
    }
    if (next !== Infinity && running) {
      retryTimer = setTimeout(pump, next - t);
    }
    if (!pending.size && !inflight.size) for (const w of waiters.splice(0)) w();
  }

  async function sweep(): Promise<number> {
    const r = deps.retention;
    if (r.maxAgeMs <= 0 && r.maxPerNamespace <= 0) return 0;
    let orphans: PodBirthCertificate[];
    try {
      orphans = await deps.api.list(`${ORPHAN_LABEL}=true`);
    } catch (err) {
      log.warn({ err: apiMessage(err) }, "listing orphan birth certificates failed");
      return 0;
    }
    let deleted = 0;
    for (const d of orphansToDelete(orphans, r, now())) {
      try {
        if (await deps.api.delete(d.namespace, d.name, d.uid)) {
          deleted++;
          metrics.birthOrphansSwept.inc({ reason: d.reason });
        }
      } catch (err) {
        // 409: the UID precondition failed — a new certificate took the name; keep it.
        log.warn({ certificate: `${d.namespace}/${d.name}`, err: apiMessage(err) }, "orphan sweep");
      }
    }
    if (deleted) log.info({ deleted }, "orphan birth certificates swept");
    return deleted;
  }

  /** Resolves once nothing is queued or being written. */
  function idle(): Promise<void> {
    if (!pending.size && !inflight.size) return Promise.resolve();
    return new Promise((resolve) => waiters.push(resolve));
  }

  return {
    /** Queues a certificate for this birth (the pod already named). */
    submit(input: BirthInput) {
      const cert = buildCertificate(input);
      const key = keyOf(cert);
      if (!pending.has(key) && pending.size >= maxPending) {
        // Bounded memory while the API is away: the oldest queued birth goes.
        const oldest = pending.keys().next().value;
        if (oldest !== undefined) pending.delete(oldest);
        metrics.birthCertificates.inc({ result: "dropped" });
      }
      pending.set(key, { cert, evidence: input.evidence, attempts: 0, notBefore: 0 });
      metrics.birthPending.set(pending.size + inflight.size);
      pump();
    },
    idle,
    sweep,
    start() {
      running = true;
      pump();
      const every = deps.retention.sweepIntervalMs;
      // A term per leadership: a sweep still running from an earlier term ends its loop.
      const mine = ++term;
      const loop = async () => {
        await sweep();
        if (running && term === mine) sweepTimer = setTimeout(() => void loop(), every);
      };
      sweepTimer = setTimeout(() => void loop(), 0);
    },
    /** Stops sweeping and retrying; waits up to `graceMs` for writes under way. */
    async stop(graceMs = 5_000) {
      running = false;
      clearTimeout(sweepTimer);
      clearTimeout(retryTimer);
      // Retries belong to the next leader (it re-reads nothing: the observer's
      // replay buffer is per connection), so only first attempts finish here.
      for (const [key, job] of pending) if (job.attempts > 0) pending.delete(key);
      pump();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    },
  };
}
