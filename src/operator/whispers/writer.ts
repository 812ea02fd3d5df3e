// The writer: turns dirty book entries into API state — whisper spec (create or
// merge-patch), status (insight, recommendation, actions, conditions,
// observedGeneration), Events on the pod, and guarded actions. Nothing
// accepted is dropped (ADR 0075): a failed write leaves the entry dirty and
// retries it with backoff (counted by reason); a whisper whose namespace does
// not exist moves to the operator's namespace with its subject kept; the API
// refusing one whisper backs off that whisper only. The loop survives any
// error (it logs, counts and schedules the next flush).
import { randomUUID } from "node:crypto";
import type { Recommendation } from "../../shared/model/kernel-whisper.ts";
import type { ActionConfig } from "../actions/plan.ts";
import { plan } from "../actions/plan.ts";
import { execute } from "../actions/execute.ts";
import { pickContainer, type PodInfo } from "../engine/pod-info.ts";
import { assess } from "../engine/rules.ts";
import type { Sizer } from "../sizing/sizer.ts";
import { verifiedActions } from "./verified.ts";
import type { Thresholds } from "../engine/thresholds.ts";
import { apiStatus, namespaceGone, statusCode, type Kube } from "../kube.ts";
import { Fenced } from "../kube-http.ts";
import type { Log } from "../log.ts";
import type { OperatorMetrics } from "../metrics.ts";
import { dirtyEntries, sweep, type Book, type Entry } from "./book.ts";
import {
  INCARNATION_ANNOTATION,
  buildEvent,
  buildSpec,
  buildStatus,
  findingOf,
  labelsFor,
} from "./build.ts";

export interface WriterDeps {
  kube: Kube;
  book: Book;
  thresholds: Thresholds;
  actions: ActionConfig;
  metrics: OperatorMetrics;
  log: Log;
  quietMs: number;
  /** Kernel-aware right-sizing and verified actions (ADR 0090, 0091); absent = off. */
  sizer?: Sizer;
  now?: () => Date;
}

const POD_CACHE_MS = 5_000;
/**
 * Backoff of one whisper after the API was away or conflicted (as short as the loop's:
 * once the API is back every whisper is retried within seconds), and after it refused it.
 */
const RETRY_MAX_MS = 5_000;
const REFUSED_MAX_MS = 5 * 60_000;
/** The whole loop's backoff while the API server is away. */
const LOOP_MAX_MS = 5_000;

type Failure = "unavailable" | "conflict" | "rejected" | "namespace-missing";

function classify(err: unknown): Failure {
  const code = statusCode(err);
  if (namespaceGone(err)) return "namespace-missing";
  if (code === 409) return "conflict";
  if (code === undefined || code === 429 || code >= 500) return "unavailable";
  return "rejected";
}

const backoff = (attempts: number, baseMs: number, maxMs: number) =>
  Math.min(maxMs, baseMs * 2 ** Math.min(attempts, 20));

export function whisperWriter(deps: WriterDeps) {
  const now = deps.now ?? (() => new Date());
  const pods = new Map<string, { at: number; info: PodInfo | undefined }>();
  // Marks whispers this process created, so a create whose reply was lost (it
  // landed, we saw an error, the retry got 409) is not merged with itself.
  const incarnation = randomUUID();
  const verified = verifiedActions({
    ...deps,
    now,
    forgetPod: (key) => pods.delete(key),
  });

  async function podInfo(e: Entry): Promise<PodInfo | undefined> {
    const { namespace, pod } = e.subject;
    if (!namespace || !pod || e.relocatedFrom) return undefined;
    const key = `${namespace}/${pod}`;
    const hit = pods.get(key);
    if (hit && Date.now() - hit.at < POD_CACHE_MS) return hit.info;
    const info = await deps.kube.getPod(namespace, pod);
    pods.set(key, { at: Date.now(), info });
    if (pods.size > 5_000) pods.delete(pods.keys().next().value ?? "");
    return info;
  }

  /** The top culprit's pod of a run-queue delay whisper (ADR 0095), if it is a pod. */
  async function culpritInfo(e: Entry): Promise<PodInfo | undefined> {
    const a = e.kernelTruth.attributes;
    if (!a?.culpritNamespace || !a.culpritPod) return undefined;
    const key = `${a.culpritNamespace}/${a.culpritPod}`;
    const hit = pods.get(key);
    if (hit && Date.now() - hit.at < POD_CACHE_MS) return hit.info;
    const info = await deps.kube.getPod(a.culpritNamespace, a.culpritPod);
    pods.set(key, { at: Date.now(), info });
    return info;
  }

  /** First write of an entry: merge with what the API server already holds. */
  async function adopt(e: Entry): Promise<void> {
    const existing = await deps.kube.getWhisper(e.namespace, e.name);
    const ours = existing?.metadata.annotations?.[INCARNATION_ANNOTATION] === incarnation;
    if (existing && !ours) {
      if (existing.status?.phase !== "Resolved" && e.phase === "Active") {
        e.occurrences += existing.spec.occurrences;
        const first = new Date(existing.spec.firstSeen);
        if (first < e.firstSeen) e.firstSeen = first;
        if (e.announce === "active") e.announce = undefined; // already announced
      }
      e.actions = [...(existing.status?.actions ?? []), ...e.actions].slice(-64);
    }
    e.exists = existing !== undefined;
    e.conditions = existing?.status?.conditions ?? e.conditions;
    // A verification survives an operator restart: its window and "before" are in the status.
    e.verification ??= existing?.status?.verification;
    e.sizing ??= existing?.status?.sizing;
    e.adopted = true;
  }

  async function write(e: Entry): Promise<void> {
    const started = performance.now();
    if (!e.adopted) await adopt(e);
    const pod = await podInfo(e);
    const culprit = await culpritInfo(e);
    const assessment = assess(findingOf(e), {
      pod,
      culprit,
      occurrences: e.occurrences,
      firstSeen: e.firstSeen,
      thresholds: deps.thresholds,
    });
    const spec = buildSpec(e, assessment.severity);
    const created = !e.exists;
    const obj = e.exists
      ? await deps.kube.patchWhisperSpec(e.namespace, e.name, spec)
      : await deps.kube.createWhisper(e.namespace, e.name, spec, labelsFor(e), {
          [INCARNATION_ANNOTATION]: incarnation,
        });
    e.exists = true;
    deps.metrics.apiWrites.inc({ write: created ? "create" : "patch-spec", result: "ok" });

    const sized = await verified.sizeFor(e, pod, assessment);
    if (e.phase === "Active") await act(e, sized.recommendation, pod, sized.hold);
    const status = buildStatus(
      e,
      { ...assessment, recommendation: sized.recommendation },
      obj.metadata.generation,
      e.conditions,
      now(),
    );
    await deps.kube.patchWhisperStatus(e.namespace, e.name, status);
    deps.metrics.apiWrites.inc({ write: "patch-status", result: "ok" });
    e.conditions = status.conditions;

    if (e.announce) {
      const message =
        e.announce === "resolved" ? `Resolved: ${assessment.insight}` : assessment.insight;
      await deps.kube.createEvent(buildEvent(e, e.announce, message, pod, now()));
      deps.metrics.apiWrites.inc({ write: "event", result: "ok" });
      e.announce = undefined;
    }
    deps.metrics.whispers.inc({
      change: created ? "created" : e.phase === "Resolved" ? "resolved" : "updated",
    });
    deps.metrics.reconcileSeconds.observe((performance.now() - started) / 1000);
  }

  function note(e: Entry, result: string) {
    const last = e.actions.at(-1);
    if (last?.mode === "refused" && last.result === result) return;
    const record = {
      time: now().toISOString(),
      action: "none" as const,
      mode: "refused" as const,
      result,
      actor: "kernel-gossip-operator",
    };
    e.actions.push(record);
    deps.metrics.actions.inc({ mode: record.mode });
  }

  async function act(
    e: Entry,
    recommendation: Recommendation,
    pod: PodInfo | undefined,
    hold: string | undefined,
  ) {
    if (deps.actions.mode === "off") return;
    const v = e.verification;
    // One change at a time: nothing new while the last one is being verified.
    if (v?.phase === "watching" || v?.phase === "rollback-waiting") return;
    // A verdict stays in the status for a cooldown before a next change replaces it.
    if (v && now().getTime() - Date.parse(v.decideAt) < deps.actions.cooldownMs) return;
    if (hold) {
      note(e, hold);
      return;
    }
    if (
      v?.phase === "rolled-back" &&
      recommendation.change &&
      now().getTime() - Date.parse(v.appliedAt) < 2 * (deps.sizer?.windowMs ?? 0)
    ) {
      note(
        e,
        `not repeating the change rolled back after ${v.appliedAt} within a window: ${v.reason ?? ""}`.slice(
          0,
          4000,
        ),
      );
      return;
    }
    const res = pickContainer(pod, recommendation.change?.container);
    const field = recommendation.change?.field ?? "";
    const requestFollows =
      res !== undefined &&
      ((/limits\.cpu$/.test(field) &&
        res.cpuLimitCores !== undefined &&
        res.cpuRequestCores === res.cpuLimitCores) ||
        (/limits\.memory$/.test(field) &&
          res.memoryLimitBytes !== undefined &&
          res.memoryRequestBytes === res.memoryLimitBytes));
    const p = plan(deps.actions, {
      namespace: e.namespace,
      pod: pod?.name,
      recommendation,
      kernelTruth: e.kernelTruth,
      history: e.actions,
      now: now(),
      requestFollows,
    });
    if (p.kind === "skip") return;
    const records =
      p.kind === "record" ? [p.record] : await execute(deps.kube, p, recommendation, now());
    for (const record of records) {
      e.actions.push(record);
      deps.metrics.actions.inc({ mode: record.mode });
      deps.log.info({ whisper: e.name, namespace: e.namespace, action: record }, "guarded action");
    }
    if (p.kind === "apply" && records.some((r) => r.mode === "applied")) {
      await verified.start(e, p);
    }
    if (records.some((r) => r.mode === "applied" || r.mode === "failed")) {
      pods.delete(`${e.subject.namespace ?? ""}/${e.subject.pod ?? ""}`);
      const message = records.map((r) => `${r.mode}: ${r.result}`).join("; ");
      await deps.kube
        .createEvent(buildEvent(e, "action", message.slice(0, 1000), pod, now()))
        .catch((err: unknown) => deps.log.warn({ err: String(err) }, "action event not written"));
    }
  }

  /** A failed write: the entry stays dirty and is retried after its backoff. */
  function failed(e: Entry, err: unknown, pendingSince: number | undefined, count: number) {
    e.dirty = true;
    e.pendingCount += count;
    if (pendingSince !== undefined)
      e.pendingSince = Math.min(e.pendingSince ?? pendingSince, pendingSince);
    // Leadership ended under this write: not the API's doing, and not ours to retry.
    if (err instanceof Fenced) return;
    const reason = classify(err);
    deps.metrics.whisperRetries.inc({ reason });
    deps.metrics.apiWrites.inc({
      write: "whisper",
      result: reason === "rejected" ? "rejected" : "error",
    });
    const where = { whisper: e.name, namespace: e.namespace, code: statusCode(err) };
    switch (reason) {
      case "namespace-missing":
        // Keep the evidence: write it to the operator's namespace, subject as sent.
        e.relocatedFrom = e.subject.namespace ?? e.namespace;
        e.namespace = deps.book.defaultNamespace;
        e.adopted = false;
        e.exists = false;
        e.retryAt = 0;
        deps.log.warn(
          { ...where, to: e.namespace },
          "the subject's namespace does not exist; recording the whisper in the operator's namespace",
        );
        return;
      case "conflict":
        // AlreadyExists/Conflict: someone (or a lost reply) wrote first; re-read before retrying.
        e.adopted = false;
        e.retryAt = Date.now() + backoff(e.attempts++, 100, RETRY_MAX_MS);
        return;
      case "rejected": {
        const retryMs = backoff(e.attempts++, 1_000, REFUSED_MAX_MS);
        e.retryAt = Date.now() + retryMs;
        deps.log.error(
          { ...where, retryMs, err: apiStatus(err)?.message ?? String(err) },
          "the API refused the whisper; retrying it with backoff",
        );
        return;
      }
      case "unavailable":
        e.retryAt = Date.now() + backoff(e.attempts++, 250, RETRY_MAX_MS);
        deps.log.warn({ ...where, err: String(err) }, "whisper write failed; will retry");
    }
  }

  /** Writes every dirty entry that is due once; returns how many failed because the API was away. */
  async function flush(): Promise<number> {
    sweep(deps.book, now(), deps.quietMs);
    await verified.due().catch((err: unknown) => {
      deps.log.warn({ err: String(err) }, "verification failed; retried next flush");
    });
    let unavailable = 0;
    const due = Date.now();
    for (const e of dirtyEntries(deps.book)) {
      if (halted) break; // leadership ended mid-flush: not one more write
      if (e.retryAt > due) continue;
      const { pendingSince, pendingCount } = e;
      e.pendingSince = undefined;
      e.pendingCount = 0;
      e.dirty = false;
      try {
        await write(e);
        e.attempts = 0;
        e.retryAt = 0;
        if (pendingSince !== undefined)
          deps.metrics.timeToTruth.observe(Math.max(0, Date.now() - pendingSince) / 1000);
      } catch (err) {
        failed(e, err, pendingSince, pendingCount);
        if (err instanceof Fenced || classify(err) === "unavailable") {
          unavailable++;
          break; // the API is likely away: back off instead of failing every entry
        }
      }
    }
    deps.metrics.whispersPending.set(dirtyEntries(deps.book).length);
    return unavailable;
  }

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let halted = false;
  let delay = 0;
  let inflight: Promise<unknown> = Promise.resolve();

  return {
    flush,
    /** Flushes every `intervalMs`, backing off up to 5 s while the API is away. */
    start(intervalMs: number) {
      running = true;
      halted = false;
      delay = intervalMs;
      // A function, not the variable: halt() flips it while flush() is awaited.
      const active = () => running;
      const tick = async () => {
        if (!active()) return;
        let failures: number;
        try {
          const p = flush();
          inflight = p;
          failures = await p;
        } catch (err) {
          // A bug must not stop the writer: every accepted finding is still in the book.
          failures = 1;
          deps.metrics.writerErrors.inc();
          deps.log.error({ err: String(err) }, "whisper flush failed; the writer continues");
        }
        delay = failures ? Math.min(delay * 2, LOOP_MAX_MS) : intervalMs;
        if (active()) timer = setTimeout(() => void tick(), delay);
      };
      timer = setTimeout(() => void tick(), intervalMs);
    },
    /** Stops the loop without writing anything more (leadership lost). */
    async halt() {
      running = false;
      halted = true;
      if (timer) clearTimeout(timer);
      await inflight.catch(() => undefined);
    },
    /** Graceful shutdown while still leading: stop the loop, then write what we have. */
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await inflight.catch(() => undefined);
      await flush().catch((err: unknown) =>
        deps.log.warn({ err: String(err) }, "final flush failed"),
      );
    },
  };
}
