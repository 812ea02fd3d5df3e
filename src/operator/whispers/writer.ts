// The writer: turns dirty book entries into API state — whisper spec (create or
// merge-patch), status (insight, recommendation, actions, conditions,
// observedGeneration), Events on the pod, and guarded actions. A failed write
// leaves the entry dirty and backs off, so nothing is lost while the API
// server is away and the whispers converge when it returns.
import type { ActionConfig } from "../actions/plan.ts";
import { plan } from "../actions/plan.ts";
import { execute } from "../actions/execute.ts";
import type { PodInfo } from "../engine/pod-info.ts";
import { assess } from "../engine/rules.ts";
import type { Thresholds } from "../engine/thresholds.ts";
import { statusCode, type Kube } from "../kube.ts";
import type { Log } from "../log.ts";
import type { OperatorMetrics } from "../metrics.ts";
import { dirtyEntries, sweep, type Book, type Entry } from "./book.ts";
import { buildEvent, buildSpec, buildStatus, findingOf, labelsFor } from "./build.ts";
import type { Condition } from "../../shared/model/common.ts";

export interface WriterDeps {
  kube: Kube;
  book: Book;
  thresholds: Thresholds;
  actions: ActionConfig;
  metrics: OperatorMetrics;
  log: Log;
  quietMs: number;
  now?: () => Date;
}

interface Written {
  exists: boolean;
  conditions?: Condition[];
}

const POD_CACHE_MS = 5_000;

export function whisperWriter(deps: WriterDeps) {
  const now = deps.now ?? (() => new Date());
  const written = new Map<string, Written>();
  const pods = new Map<string, { at: number; info: PodInfo | undefined }>();

  async function podInfo(e: Entry): Promise<PodInfo | undefined> {
    const { namespace, pod } = e.subject;
    if (!namespace || !pod) return undefined;
    const key = `${namespace}/${pod}`;
    const hit = pods.get(key);
    if (hit && Date.now() - hit.at < POD_CACHE_MS) return hit.info;
    const info = await deps.kube.getPod(namespace, pod);
    pods.set(key, { at: Date.now(), info });
    if (pods.size > 5_000) pods.delete(pods.keys().next().value ?? "");
    return info;
  }

  /** First write of an entry: merge with what the API server already holds. */
  async function adopt(e: Entry): Promise<Written> {
    const existing = await deps.kube.getWhisper(e.namespace, e.name);
    if (existing) {
      if (existing.status?.phase !== "Resolved" && e.phase === "Active") {
        e.occurrences += existing.spec.occurrences;
        const first = new Date(existing.spec.firstSeen);
        if (first < e.firstSeen) e.firstSeen = first;
        if (e.announce === "active") e.announce = undefined; // already announced
      }
      e.actions = [...(existing.status?.actions ?? []), ...e.actions];
    }
    e.adopted = true;
    return { exists: existing !== undefined, conditions: existing?.status?.conditions };
  }

  async function write(e: Entry): Promise<void> {
    const started = performance.now();
    const state = e.adopted ? (written.get(e.key) ?? { exists: false }) : await adopt(e);
    const pod = await podInfo(e);
    const assessment = assess(findingOf(e), {
      pod,
      occurrences: e.occurrences,
      firstSeen: e.firstSeen,
      thresholds: deps.thresholds,
    });
    const spec = buildSpec(e, assessment.severity);
    const obj = state.exists
      ? await deps.kube.patchWhisperSpec(e.namespace, e.name, spec)
      : await deps.kube.createWhisper(e.namespace, e.name, spec, labelsFor(e));
    deps.metrics.apiWrites.inc({ write: state.exists ? "patch-spec" : "create", result: "ok" });

    if (e.phase === "Active") await act(e, assessment.recommendation, pod);
    const status = buildStatus(e, assessment, obj.metadata.generation, state.conditions, now());
    await deps.kube.patchWhisperStatus(e.namespace, e.name, status);
    deps.metrics.apiWrites.inc({ write: "patch-status", result: "ok" });
    written.set(e.key, { exists: true, conditions: status.conditions });

    if (e.announce) {
      const message =
        e.announce === "resolved" ? `Resolved: ${assessment.insight}` : assessment.insight;
      await deps.kube.createEvent(buildEvent(e, e.announce, message, pod, now()));
      deps.metrics.apiWrites.inc({ write: "event", result: "ok" });
      e.announce = undefined;
    }
    deps.metrics.whispers.inc({
      change: !state.exists ? "created" : e.phase === "Resolved" ? "resolved" : "updated",
    });
    deps.metrics.reconcileSeconds.observe((performance.now() - started) / 1000);
  }

  async function act(
    e: Entry,
    recommendation: Parameters<typeof plan>[1]["recommendation"],
    pod: PodInfo | undefined,
  ) {
    const p = plan(deps.actions, {
      namespace: e.namespace,
      pod: pod?.name,
      recommendation,
      kernelTruth: e.kernelTruth,
      history: e.actions,
      now: now(),
    });
    if (p.kind === "skip") return;
    const record =
      p.kind === "record" ? p.record : await execute(deps.kube, p, recommendation, now());
    e.actions.push(record);
    deps.metrics.actions.inc({ mode: record.mode });
    deps.log.info({ whisper: e.name, namespace: e.namespace, action: record }, "guarded action");
    if (record.mode === "applied" || record.mode === "failed") {
      pods.delete(`${e.subject.namespace ?? ""}/${e.subject.pod ?? ""}`);
      await deps.kube
        .createEvent(buildEvent(e, "action", `${record.mode}: ${record.result}`, pod, now()))
        .catch((err: unknown) => deps.log.warn({ err }, "action event not written"));
    }
  }

  /** Writes every dirty entry once; returns how many failed (they stay dirty). */
  async function flush(): Promise<number> {
    sweep(deps.book, now(), deps.quietMs);
    let failed = 0;
    for (const e of dirtyEntries(deps.book)) {
      const pending = e.pending.splice(0);
      e.dirty = false;
      try {
        await write(e);
        const at = Date.now();
        for (const t of pending) deps.metrics.timeToTruth.observe(Math.max(0, at - t) / 1000);
      } catch (err) {
        const code = statusCode(err);
        if (code !== undefined && code >= 400 && code < 500 && code !== 409 && code !== 429) {
          // The API refused this whisper (e.g. evidence outside the schema): retrying
          // would fail the same way and hold up every other entry.
          deps.metrics.apiWrites.inc({ write: "whisper", result: "rejected" });
          deps.log.error(
            { whisper: e.name, namespace: e.namespace, code, err: String(err) },
            "whisper rejected by the API",
          );
          continue;
        }
        // AlreadyExists/Conflict: someone (or a lost response) wrote first; re-read before retrying.
        if (code === 409) e.adopted = false;
        failed++;
        e.pending.unshift(...pending);
        e.dirty = true;
        deps.metrics.apiWrites.inc({ write: "whisper", result: "error" });
        deps.log.warn(
          { whisper: e.name, namespace: e.namespace, err: String(err) },
          "whisper write failed; will retry",
        );
        break; // the API is likely away: back off instead of failing every entry
      }
    }
    return failed;
  }

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let delay = 0;

  return {
    flush,
    /** Flushes every `intervalMs`, backing off up to 5 s while writes fail. */
    start(intervalMs: number) {
      running = true;
      delay = intervalMs;
      // A function, not the variable: stop() flips it while flush() is awaited.
      const active = () => running;
      const tick = async () => {
        if (!active()) return;
        const failed = await flush();
        delay = failed ? Math.min(delay * 2, 5_000) : intervalMs;
        if (active()) timer = setTimeout(() => void tick(), delay);
      };
      timer = setTimeout(() => void tick(), intervalMs);
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await flush(); // graceful shutdown: write what we have
    },
  };
}
