// Fetching the kernel's evidence for an alert that carried none (ADR 0076):
// first what the observers hold (their /events replay), for the signals they
// stream events for; then Prometheus over the observers' series, when
// configured. Whatever happens, the answer is evidence or a plain statement of
// where the operator looked and found nothing — never an exception, and never
// longer than the timeout per source.
import type { Log } from "../log.ts";
import { aggregate, STREAMED, type PodIds } from "./aggregate.ts";
import { fetchReplay } from "./observer-replay.ts";
import type { PrometheusSource } from "./prometheus.ts";
import { SIGNAL_NOUN, type EvidenceQuery, type EvidenceResult } from "./query.ts";

export interface EvidenceDeps {
  /** Base URLs of the observers currently streamed from. */
  observers: () => string[];
  prometheus?: PrometheusSource;
  /** The subject pod's UID and container ids, when it exists. */
  pod: (namespace: string, name: string) => Promise<PodIds | undefined>;
  timeoutMs: number;
  log: Log;
}

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export function evidenceFetcher(deps: EvidenceDeps) {
  async function fromObservers(q: EvidenceQuery, searched: string[]) {
    const urls = deps.observers();
    if (urls.length === 0) {
      searched.push("no observer stream is configured");
      return undefined;
    }
    const s = q.subject;
    const [pod, ...replays] = await Promise.all([
      s.pod && s.namespace
        ? deps.pod(s.namespace, s.pod).catch(() => undefined)
        : Promise.resolve(undefined),
      ...urls.map((u) =>
        fetchReplay(u, deps.timeoutMs).catch((err: unknown) => {
          deps.log.warn({ observer: u, err: String(err) }, "observer replay not fetched");
          return undefined;
        }),
      ),
    ]);
    const ok = replays.filter((r) => r !== undefined);
    const events = ok.flatMap((r) => r.events);
    const found = aggregate(q, events, pod);
    if (found) return found;
    const oldest = Math.min(...events.map((e) => e.tsUnixMs));
    const reach = events.length
      ? `, held since ${hhmmss(oldest)}${oldest > q.startMs ? " — later than the window's start" : ""}`
      : "";
    searched.push(
      `the /events replay of ${ok.length} of ${urls.length} observer(s) (${events.length} events${reach})`,
    );
    return undefined;
  }

  async function fromPrometheus(q: EvidenceQuery, searched: string[]) {
    const p = deps.prometheus;
    if (!p) {
      if (!STREAMED.has(q.signal))
        searched.push(
          `no Prometheus (KG_PROMETHEUS_URL): observers stream no ${SIGNAL_NOUN[q.signal]} events`,
        );
      return undefined;
    }
    try {
      const r = await p.evidence(q);
      if (r && r.total > 0) return r.kernelTruth;
      searched.push(
        r ? `${r.kernelTruth.origin ?? p.url} (zero)` : `Prometheus ${p.url} (no series for it)`,
      );
    } catch (err) {
      searched.push(`Prometheus ${p.url} (failed: ${String(err).slice(0, 120)})`);
    }
    return undefined;
  }

  return async (q: EvidenceQuery): Promise<EvidenceResult> => {
    const searched: string[] = [];
    if (STREAMED.has(q.signal)) {
      const found = await fromObservers(q, searched);
      if (found) return found;
    }
    const kernelTruth = await fromPrometheus(q, searched);
    if (kernelTruth) return { found: true, kernelTruth };
    return {
      found: false,
      searched: `${searched.join("; ")}, ${hhmmss(q.startMs)}–${hhmmss(q.endMs)} UTC`,
    };
  };
}
