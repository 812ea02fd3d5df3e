// Verified actions, the pure half (ADR 0091): after an applied change the
// operator measures the same kernel evidence over a window as long as the one
// before it and decides whether the change helped. A CPU change must lower the
// throttled share or the run-queue delay it was meant for (time held by the quota
// and time waiting for a CPU must not grow together); a memory change the
// reclaim/pressure stall or OOM kills. Anything else — no improvement, or a
// signal that got worse — means the change is rolled back, with the figures
// that say why.
import type { SizingMeasures } from "../../shared/model/kernel-whisper.ts";

/** A decrease counts when it is at least this share of the value before… */
const RELATIVE = 0.2;
/** …and at least this much in absolute terms (ratio points, or seconds per second). */
const ABS_SHARE = 0.02;
const ABS_RATE = 0.001;
/**
 * Run-queue delay moves by a few ms/s on its own: a sleeping container's went
 * 0.0001 → 0.0018 and 0.0055 → 0.0018 s/s between two windows in CI runs, with no
 * change that could matter. Only a fall of 10 ms/s (1 % of a CPU's time spent
 * waiting) counts as the change helping.
 */
const ABS_DELAY = 0.01;
/** Held time (throttled + run-queue delay) must grow by this much to count as worse, s/s. */
const ABS_HELD = 0.05;

export interface Verdict {
  improved: boolean;
  reason: string;
}

const lower = (before: number, after: number, abs: number) =>
  before - after >= Math.max(before * RELATIVE, abs);
const worse = (before: number, after: number, abs: number) =>
  after - before >= Math.max(before * RELATIVE, abs);

const f = (v: number, d = 3) => v.toFixed(d);

/** Did the change applied to `resource` help, judged from the evidence before and after? */
export function verdict(
  resource: "cpu" | "memory",
  before: SizingMeasures,
  after: SizingMeasures,
): Verdict {
  const figures =
    `throttled share ${f(before.throttledShare)} → ${f(after.throttledShare)}, ` +
    `run-queue delay ${f(before.runqueueDelaySecondsPerSecond, 4)} → ${f(after.runqueueDelaySecondsPerSecond, 4)} s/s, ` +
    `memory stall ${f(before.memoryStallSecondsPerSecond + before.reclaimSecondsPerSecond, 4)} → ${f(after.memoryStallSecondsPerSecond + after.reclaimSecondsPerSecond, 4)} s/s, ` +
    `OOM kills ${before.oomKills} → ${after.oomKills} ` +
    `(${f(before.seconds, 0)} s before, ${f(after.seconds, 0)} s after)`;
  if (after.samples === 0) {
    return { improved: false, reason: `no kernel samples after the change: ${figures}` };
  }
  const stall = (m: SizingMeasures) => m.memoryStallSecondsPerSecond + m.reclaimSecondsPerSecond;
  const worsened: string[] = [];
  if (worse(before.throttledShare, after.throttledShare, ABS_SHARE)) worsened.push("throttling");
  // Time no longer held by the quota may be spent waiting for a CPU instead: the delay
  // is judged together with the throttled time, and only a real slowdown counts.
  const held = (m: SizingMeasures) => m.throttledSecondsPerSecond + m.runqueueDelaySecondsPerSecond;
  if (worse(held(before), held(after), ABS_HELD)) worsened.push("run-queue delay");
  if (worse(stall(before), stall(after), ABS_RATE)) worsened.push("memory pressure");
  if (after.oomKills > before.oomKills) worsened.push("OOM kills");
  if (worsened.length) {
    return { improved: false, reason: `${worsened.join(" and ")} got worse: ${figures}` };
  }
  const helped =
    resource === "cpu"
      ? lower(before.throttledShare, after.throttledShare, ABS_SHARE) ||
        lower(before.runqueueDelaySecondsPerSecond, after.runqueueDelaySecondsPerSecond, ABS_DELAY)
      : lower(stall(before), stall(after), ABS_RATE) || after.oomKills < before.oomKills;
  const target =
    resource === "cpu" ? "throttling or run-queue delay" : "memory pressure or OOM kills";
  return helped
    ? { improved: true, reason: `${target} went down: ${figures}` }
    : {
        improved: false,
        reason: `${target} did not go down by at least ${RELATIVE * 100} %: ${figures}`,
      };
}
