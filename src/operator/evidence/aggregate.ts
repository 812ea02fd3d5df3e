// Observer events → evidence for one query (ADR 0076). Pure: which events are
// about the subject (by names, pod UID or container id), inside the window,
// of the signal's type; and the numbers they add up to, with the window they
// cover. Every quantity comes from the kernel's own counters as the observer
// reported them.
import type { Evidence, Quantity } from "../../shared/model/common.ts";
import type { ObserverEvent, ThrottleEpisode } from "../../shared/model/observer-events.ts";
import type { EvidenceFound, EvidenceQuery } from "./query.ts";

/** What the API says about the subject's pod, to match events that carry only ids. */
export interface PodIds {
  uid?: string;
  /** Container id (runtime prefix removed) → container name, from the pod's status. */
  containerIds: Record<string, string>;
  /** Container names in the pod's spec. */
  containers: string[];
}

const norm = (uid: string) => uid.replaceAll("_", "-");

/** Whether an event is about the query's subject. */
export function about(ev: ObserverEvent, q: EvidenceQuery, pod: PodIds | undefined): boolean {
  const s = q.subject;
  const w = ev.workload;
  if (s.node && ev.node !== s.node) return false;
  if (!s.pod) return w.cgroup === s.cgroupPath;
  const samePod =
    (w.namespace === s.namespace && w.pod === s.pod) ||
    (pod?.uid !== undefined && w.podUID !== undefined && norm(w.podUID) === norm(pod.uid));
  if (!samePod) return false;
  if (!s.container) return true;
  if (w.container !== undefined) return w.container === s.container;
  // The observer could not name the container: its id, through the pod's status,
  // or the pod's only container. A pod-level cgroup (no container id) is not it.
  if (w.containerID === undefined) return false;
  const named = pod?.containerIds[w.containerID];
  if (named !== undefined) return named === s.container;
  return pod?.containers.length === 1 && pod.containers[0] === s.container;
}

const iso = (ms: number) => new Date(ms).toISOString();

function throttling(events: ObserverEvent[]): EvidenceFound | undefined {
  // Progress reports of one episode (same start) are superseded by later ones.
  const byStart = new Map<string, { ev: ObserverEvent; e: ThrottleEpisode }>();
  for (const ev of events) {
    if (ev.type !== "throttle_episode") continue;
    const prev = byStart.get(ev.evidence.start);
    if (!prev || prev.ev.seq < ev.seq) byStart.set(ev.evidence.start, { ev, e: ev.evidence });
  }
  const eps = [...byStart.values()].map((x) => x.e);
  if (eps.length === 0) return undefined;
  const sum = (f: (e: ThrottleEpisode) => number) => eps.reduce((n, e) => n + f(e), 0);
  const periods = sum((e) => e.periods);
  const throttled = sum((e) => e.throttledPeriods);
  const start = Math.min(...eps.map((e) => Date.parse(e.start)));
  const end = Math.max(...eps.map((e) => Date.parse(e.end)));
  const window = { start: iso(start), end: iso(end) };
  const limit = eps.at(-1)?.limitCores ?? null;
  const q: Quantity[] = [
    { name: "throttledPeriodsRatio", value: periods ? throttled / periods : 0, unit: "ratio" },
    { name: "throttledPeriods", value: throttled, unit: "count" },
    { name: "periods", value: periods, unit: "count" },
    { name: "throttledSeconds", value: sum((e) => e.throttledSeconds), unit: "seconds" },
    { name: "episodes", value: eps.length, unit: "count" },
  ];
  if (limit !== null) q.push({ name: "cpuLimitCores", value: limit, unit: "cores" });
  const origin = `observer /events replay: ${eps.length} throttle episode(s) from cgroup cpu.stat`;
  const used = eps.filter((e) => e.usageSeconds !== undefined);
  const duration = used.reduce((n, e) => n + e.durationSeconds, 0);
  let metricsView: Evidence | undefined;
  if (used.length && duration > 0) {
    const cores = used.reduce((n, e) => n + (e.usageSeconds ?? 0), 0) / duration;
    const mq: Quantity[] = [{ name: "avgCpuUsageCores", value: cores, unit: "cores" }];
    if (limit)
      mq.push({ name: "avgCpuUsagePercentOfLimit", value: (cores / limit) * 100, unit: "percent" });
    metricsView = {
      window,
      quantities: mq,
      origin: "cgroup CPU usage averaged over the same episodes",
    };
  }
  return {
    found: true,
    kernelTruth: { window, quantities: q, origin },
    ...(metricsView ? { metricsView } : {}),
  };
}

function oomKills(events: ObserverEvent[]): EvidenceFound | undefined {
  const kills = events.filter((ev) => ev.type === "oom_kill");
  const last = kills.at(-1);
  if (!last) return undefined;
  const e = last.evidence;
  const first = kills[0]?.tsUnixMs ?? last.tsUnixMs;
  return {
    found: true,
    kernelTruth: {
      window: { start: iso(first), end: iso(last.tsUnixMs) },
      quantities: [
        { name: "oomKills", value: kills.length, unit: "count" },
        { name: "victimPid", value: e.pid, unit: "pid" },
        {
          name: "victimRssBytes",
          value: e.anonRssBytes + e.fileRssBytes + e.shmemRssBytes,
          unit: "bytes",
        },
        { name: "victimTotalVmBytes", value: e.totalVmBytes, unit: "bytes" },
      ],
      attributes: { comm: e.comm, memcg: e.memcg.slice(0, 1024) },
      origin: `observer /events replay: ${kills.length} OOM kill(s) from tracepoint oom:mark_victim`,
    },
  };
}

function bursts(
  events: ObserverEvent[],
  type: "drop_burst" | "retransmit_burst",
  reason: string | undefined,
): EvidenceFound | undefined {
  let total = 0;
  let start = Infinity;
  let end = -Infinity;
  let n = 0;
  for (const ev of events) {
    if (ev.type !== type) continue;
    if (ev.type === "drop_burst" && reason !== undefined && ev.evidence.reason !== reason) continue;
    total += ev.type === "drop_burst" ? ev.evidence.drops : ev.evidence.retransmits;
    start = Math.min(start, ev.tsUnixMs - ev.evidence.intervalSeconds * 1000);
    end = Math.max(end, ev.tsUnixMs);
    n++;
  }
  if (n === 0) return undefined;
  const drops = type === "drop_burst";
  return {
    found: true,
    kernelTruth: {
      window: { start: iso(start), end: iso(end) },
      quantities: [
        drops
          ? { name: "drops", value: total, unit: "packets" }
          : { name: "retransmits", value: total, unit: "count" },
      ],
      ...(drops && reason !== undefined ? { attributes: { reason } } : {}),
      origin: `observer /events replay: ${n} ${drops ? "drop" : "retransmit"} burst(s) from tracepoint ${
        drops ? "skb:kfree_skb" : "tcp:tcp_retransmit_skb"
      }`,
    },
  };
}

/** Signals the observer streams events for; the others come from Prometheus only. */
export const STREAMED = new Set(["cpu-throttling", "oom-kill", "packet-drops", "tcp-retransmits"]);

/** The evidence the events hold for the query, or undefined when none is about it. */
export function aggregate(
  q: EvidenceQuery,
  events: ObserverEvent[],
  pod: PodIds | undefined,
): EvidenceFound | undefined {
  const mine = events
    .filter((ev) => ev.tsUnixMs >= q.startMs && ev.tsUnixMs <= q.endMs && about(ev, q, pod))
    .sort((a, b) => a.tsUnixMs - b.tsUnixMs);
  switch (q.signal) {
    case "cpu-throttling":
      return throttling(mine);
    case "oom-kill":
      return oomKills(mine);
    case "packet-drops":
      return bursts(mine, "drop_burst", q.reason);
    case "tcp-retransmits":
      return bursts(mine, "retransmit_burst", undefined);
    default:
      return undefined;
  }
}
