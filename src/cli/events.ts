// Kernel events for the terminal: the observer's /events NDJSON stream (replay
// of the kept events, then live), and one line of text per event with units.
import type { ObserverEvent, Workload } from "../shared/model/observer-events.ts";
import { bytes, seconds } from "./format.ts";

/** Interesting by default; cgroup creation/removal is shown with --all-events. */
export const NOISY_TYPES = new Set(["cgroup_created", "cgroup_removed"]);

export async function observerEvents(
  observerUrl: string,
  onEvent: (e: ObserverEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await fetch(`${observerUrl.replace(/\/$/, "")}/events?since=0`, { signal });
  if (!res.ok || !res.body) throw new Error(`observer /events ${res.status}`);
  let buf = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) onEvent(JSON.parse(line) as ObserverEvent);
    }
  }
}

export function workloadName(w: Workload): string {
  if (w.pod) return [w.namespace, w.pod, w.container].filter(Boolean).join("/");
  return w.cgroup;
}

/** What the kernel said, in one line, every number with its unit and window. */
export function eventText(e: ObserverEvent): string {
  switch (e.type) {
    case "throttle_episode": {
      const v = e.evidence;
      const used =
        v.usageSeconds !== undefined && v.durationSeconds > 0
          ? `, used ${(v.usageSeconds / v.durationSeconds).toFixed(2)} cores`
          : "";
      const limit = v.limitCores === null ? "" : ` of a ${v.limitCores} core limit`;
      return (
        `${v.throttledPeriods}/${v.periods} periods throttled (${(v.ratio * 100).toFixed(0)} %), ` +
        `${seconds(v.throttledSeconds)} throttled over ${seconds(v.durationSeconds)}${used}${limit}` +
        (v.ongoing ? " (ongoing)" : "")
      );
    }
    case "oom_kill": {
      const v = e.evidence;
      return `killed pid ${v.pid} (${v.comm}), anon RSS ${bytes(v.anonRssBytes)}, VM ${bytes(v.totalVmBytes)}`;
    }
    case "drop_burst":
      return `${e.evidence.drops} packets dropped (${e.evidence.reason}) in ${seconds(e.evidence.intervalSeconds)}, netns ${e.evidence.netns}`;
    case "retransmit_burst":
      return `${e.evidence.retransmits} TCP retransmits in ${seconds(e.evidence.intervalSeconds)}, netns ${e.evidence.netns}`;
    case "cgroup_created":
    case "cgroup_removed":
      return `${e.evidence.hierarchy} level ${e.evidence.level}`;
    case "cpu_stolen": {
      const v = e.evidence;
      const by = v.culprits
        .map(
          (c) =>
            `${workloadName(c.workload)} ${seconds(c.seconds)} (${(c.share * 100).toFixed(0)} %)`,
        )
        .join(", ");
      return (
        `waited ${seconds(v.delaySeconds)} for a CPU in ${seconds(v.intervalSeconds)}, ` +
        `${seconds(v.stolenSeconds)} while others ran${by ? `: ${by}` : ""}`
      );
    }
    case "birth": {
      const v = e.evidence;
      return (
        `${v.complete ? "complete" : `incomplete (${v.closeReason})`} in ${seconds(v.durationSeconds)}: ` +
        `${v.syscalls} syscalls, ${v.forks} forks, ${v.execs} execs, ${v.cgroupsCreated.length} cgroups`
      );
    }
  }
}
