// Wires the operator: inputs (observer streams, webhooks) → book → writer,
// under leader election. Used by main.ts and, in-process, by tests.
import { birthsApi } from "./births/api.ts";
import { birthIngest } from "./births/ingest.ts";
import { birthWriter } from "./births/writer.ts";
import type { Config } from "./config.ts";
import { findingKey, type Finding } from "./engine/finding.ts";
import { evidenceFetcher } from "./evidence/fetch.ts";
import { prometheusSource } from "./evidence/prometheus.ts";
import { kubeClient, loadKubeConfig } from "./kube.ts";
import { kubeHttp } from "./kube-http.ts";
import { leaderElector } from "./leader.ts";
import { logger, type Log } from "./log.ts";
import { operatorMetrics } from "./metrics.ts";
import { observerSet } from "./observer/discovery.ts";
import { handleObserverLine, type StreamDeps } from "./observer/stream.ts";
import { podIndex } from "./observer/pod-index.ts";
import { eventToFinding } from "./observer/to-finding.ts";
import { buildServer } from "./server.ts";
import { observerSampler } from "./sizing/observer-metrics.ts";
import { sizer } from "./sizing/sizer.ts";
import { newStore } from "./sizing/store.ts";
import { admits, dirtyEntries, newBook, record } from "./whispers/book.ts";
import { whisperWriter } from "./whispers/writer.ts";

export interface RunningOperator {
  url: string;
  metrics: ReturnType<typeof operatorMetrics>;
  flush: () => Promise<number>;
  /** Feeds one /events line through the same function the observer streams call. */
  observerLine: (line: string) => void;
  /** Resolves once every accepted birth event is written (or given up). */
  birthsIdle: () => Promise<void>;
  /** Runs the orphan-certificate retention sweep now; returns how many it deleted. */
  sweepBirths: () => Promise<number>;
  isLeader: () => boolean;
  stop: () => Promise<void>;
}

export async function startOperator(cfg: Config, log: Log = logger()): Promise<RunningOperator> {
  const kc = loadKubeConfig(cfg.kubeconfig);
  const le = cfg.leaderElection;
  const http = (timeoutMs: number, fence?: () => AbortSignal) =>
    kubeHttp({
      timeoutMs,
      userAgent: `kernel-gossip-operator/${le.identity}`,
      ...(fence ? { fence } : {}),
    });
  // Reads, discovery and evidence lookups: deadlines, no fence.
  const kube = kubeClient(kc, http(cfg.api.timeoutMs));
  // The Lease: a hung call gets half the renew deadline, so one more try fits before it.
  const leaseKube = kubeClient(kc, http(Math.max(500, le.renewDeadlineMs / 2)));
  // Every write made as leader goes through the current term's fence (ADR 0077):
  // outside a term nothing is sent, and ending a term aborts what is in flight.
  let term: AbortSignal | undefined;
  const noTerm = AbortSignal.abort(new Error("not the leader"));
  const fence = le.enabled ? () => term ?? noTerm : undefined;
  const writes = kubeClient(kc, http(cfg.api.timeoutMs, fence));
  const pods = podIndex(kc, http(cfg.api.timeoutMs), log);
  const metrics = operatorMetrics();
  const book = newBook(cfg.namespace, cfg.whispers.maxEntries);
  // Right-sizing history (ADR 0090): Prometheus when configured, else our own store.
  const store = newStore(cfg.sizing.windowMs, cfg.sizing.capacity, cfg.sizing.maxContainers);
  const sizing = cfg.sizing.enabled
    ? sizer(
        {
          ...cfg.sizing,
          ...(cfg.evidence.prometheusUrl ? { prometheusUrl: cfg.evidence.prometheusUrl } : {}),
          timeoutMs: cfg.evidence.timeoutMs,
        },
        store,
      )
    : undefined;
  const writer = whisperWriter({
    kube: writes,
    book,
    thresholds: cfg.thresholds,
    actions: cfg.actions,
    metrics,
    log,
    quietMs: cfg.whispers.quietPeriodMs,
    ...(sizing ? { sizer: sizing } : {}),
  });

  let leading = !le.enabled;
  /** Records findings all or nothing; the reason when this replica cannot take them now. */
  const ingest = (findings: Finding[]): string | undefined => {
    // Leadership can end while a webhook awaits its evidence: only a leader may accept.
    if (!leading) return "standby replica: not the leader";
    if (!admits(book, findings)) return "the operator holds too much unwritten evidence";
    for (const f of findings) {
      const e = record(book, f);
      log.debug({ key: findingKey(f), whisper: e?.name }, "finding");
    }
    return undefined;
  };

  const births = birthWriter({
    api: birthsApi(kc, http(cfg.api.timeoutMs, fence)),
    metrics,
    log,
    retention: cfg.births,
  });
  const ingestBirth = birthIngest({
    writer: births,
    lookup: (uid, node) => pods.lookup(uid, node),
    metrics,
    log,
  });
  // Birth events whose pod is still being named: birthsIdle() waits for them too.
  const naming = new Set<Promise<void>>();

  const streamDeps: StreamDeps = {
    log,
    metrics,
    onEvent: (ev) => {
      // A standby keeps its streams (and resume points) but records nothing.
      if (!leading) return;
      if (ev.type === "birth") {
        if (!cfg.births.enabled) return;
        const p = ingestBirth(ev).catch((err: unknown) =>
          log.warn({ err: String(err) }, "birth event not ingested"),
        );
        naming.add(p);
        void p.finally(() => naming.delete(p));
        return;
      }
      // Name the pods first when the observer only knew their UIDs: the event's
      // workload, and a cpu_stolen event's culprits (ADR 0095).
      const unnamed = [
        ev.workload,
        ...(ev.type === "cpu_stolen" ? ev.evidence.culprits.map((c) => c.workload) : []),
      ].flatMap((w) => (w.pod === undefined && w.podUID ? [w.podUID] : []));
      const named = Promise.all(
        unnamed.map(async (uid) => [uid, await pods.lookup(uid, ev.node)] as const),
      );
      void named.then((found) => {
        const byUid = new Map(found);
        const f = eventToFinding(ev, (uid) => byUid.get(uid));
        if (f && ingest([f]) !== undefined) {
          // The stream cannot be refused like a webhook: count and log what did not fit.
          metrics.observerEvents.inc({ type: ev.type, outcome: "no-room" });
          log.warn(
            { key: findingKey(f) },
            "book full of unwritten whispers; observer finding not kept",
          );
        }
      });
    },
  };
  const observers = observerSet(
    { ...cfg.observers, namespace: cfg.namespace },
    kube,
    streamDeps,
    log,
  );

  const sampler =
    cfg.sizing.enabled && !cfg.evidence.prometheusUrl
      ? observerSampler({
          store,
          observers: () => observers.streams().map((st) => st.url),
          intervalMs: cfg.sizing.sampleMs,
          timeoutMs: cfg.evidence.timeoutMs,
          log,
          onSample: () => metrics.sizingSamples.set(store.tracks.size),
        })
      : undefined;

  const elector = le.enabled
    ? leaderElector(
        {
          namespace: cfg.namespace,
          name: "kernel-gossip-operator",
          identity: le.identity,
          leaseMs: le.leaseMs,
          renewDeadlineMs: le.renewDeadlineMs,
          retryMs: le.retryMs,
        },
        leaseKube,
        {
          onStart: (signal) => {
            term = signal;
            leading = true;
            metrics.leader.set(1);
            metrics.leaderTransitions.inc({ change: "started" });
            writer.start(cfg.whispers.flushIntervalMs);
            if (cfg.births.enabled) births.start();
          },
          onStop: async (reason) => {
            // The term is already aborted: nothing below can reach the API.
            leading = false;
            metrics.leader.set(0);
            metrics.leaderTransitions.inc({ change: "stopped" });
            log.info({ reason }, "leadership ended; writer halted without flushing");
            await Promise.all([writer.halt(), births.stop(0)]);
          },
        },
        log,
      )
    : undefined;

  const evidence = evidenceFetcher({
    observers: () => observers.streams().map((st) => st.url),
    ...(cfg.evidence.prometheusUrl
      ? { prometheus: prometheusSource(cfg.evidence.prometheusUrl, cfg.evidence.timeoutMs) }
      : {}),
    pod: async (namespace, name) => {
      const p = await kube.getPod(namespace, name);
      return p
        ? {
            uid: p.uid,
            containerIds: p.containerIds ?? {},
            containers: p.containers.map((c) => c.name),
          }
        : undefined;
    },
    timeoutMs: cfg.evidence.timeoutMs,
    log,
  });

  const app = buildServer({
    cfg,
    log,
    metrics,
    ingest,
    evidence,
    isLeader: () => leading,
    readiness: () => ({
      ready: leading,
      leader: leading,
      observers: observers.streams().map((s) => ({ url: s.url, lastSeq: s.lastSeq() })),
      dirtyWhispers: dirtyEntries(book).length,
    }),
  });
  const [host, port] = splitListen(cfg.listen);
  await app.listen({ host, port });
  const addr = app.server.address();
  const url = `http://${host}:${typeof addr === "object" && addr ? addr.port : port}`;

  observers.start();
  // Every replica keeps the history, so a new leader can size and verify at once.
  sampler?.start();
  if (elector) elector.start();
  else {
    metrics.leader.set(1);
    writer.start(cfg.whispers.flushIntervalMs);
    if (cfg.births.enabled) births.start();
  }
  log.info({ url, kube: kube.server, actions: cfg.actions.mode }, "operator started");

  let stopped = false;
  return {
    url,
    metrics,
    flush: () => writer.flush(),
    observerLine: (line) => void handleObserverLine(line, streamDeps),
    async birthsIdle() {
      while (naming.size) await Promise.all([...naming]);
      await births.idle();
    },
    sweepBirths: () => births.sweep(),
    isLeader: () => leading,
    async stop() {
      if (stopped) return;
      stopped = true;
      sampler?.stop();
      observers.stop();
      await app.close();
      // A leader writes what it holds while its term lasts, then releases the Lease.
      const finish = () => Promise.all([writer.stop(), births.stop()]).then(() => undefined);
      if (elector) await elector.stop(finish);
      else await finish();
    },
  };
}

function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i).replace(/^\[|\]$/g, "") || "0.0.0.0";
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 0) throw new Error(`listen: bad address "${listen}"`);
  return [host, port];
}
