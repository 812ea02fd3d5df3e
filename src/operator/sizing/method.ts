// Kernel-aware right-sizing, the pure method (ADR 0090): from a window of
// per-interval kernel counters of one container, the CPU limit its demand
// needs — usage plus the time the quota held it back (throttled) plus the time
// it waited for a CPU (run-queue delay) — and the memory limit from its peak
// working set, reclaim stalls and OOM kills. Each result carries its evidence,
// its window and a confidence, or says the data is too thin. The usage-only
// percentile methods (KRR: p95 of usage; VPA: p90 × 1.15) are computed from the
// same samples as the contrast. Formulas: src/operator/README.md, Right-sizing.
import type { SizingConfidence } from "../../shared/model/kernel-whisper.ts";
import { formatCpu, formatMemory } from "../engine/quantity.ts";

/** Counter growth of one container over one interval (all deltas ≥ 0). */
export interface Sample {
  /** End of the interval, ms since the epoch. */
  endMs: number;
  /** Interval length, seconds. */
  seconds: number;
  /** CPU time used (cpuacct.usage / cpu.stat usage_usec), seconds. */
  usage: number;
  /** CFS periods in which the cgroup was active (cpu.stat nr_periods). */
  periods: number;
  /** Of those, periods that ended throttled (nr_throttled). */
  throttled: number;
  /** Time runnable tasks were held by the quota (throttled_time / throttled_usec), seconds. */
  throttledSeconds: number;
  /** Time runnable tasks waited for a CPU (run-queue delay, the observer's histogram sum), seconds. */
  runqueueSeconds: number;
  /** Time in memcg direct reclaim, seconds. */
  reclaimSeconds: number;
  /** PSI memory "some" stall, seconds (cgroup2 only). */
  memoryStallSeconds: number;
  oomKills: number;
  /** CPU limit at the end of the interval, cores (absent: no quota). */
  limitCores?: number;
  /** Highest working set seen in the interval, bytes (only from Prometheus with cAdvisor). */
  workingSetBytes?: number;
}

export interface MethodConfig {
  /** The window a recommendation covers, ms (default 7 days). */
  windowMs: number;
  /** How often a sample is taken, ms (to know how many the window should hold). */
  sampleMs: number;
  /** CFS period, seconds (kubelet's default 100 ms). */
  cfsPeriodSeconds: number;
  /** Headroom on top of the demand percentile. */
  margin: number;
  /** Percentile of the per-interval demand. */
  percentile: number;
}

export const DEFAULT_METHOD: MethodConfig = {
  windowMs: 7 * 24 * 3_600_000,
  sampleMs: 60_000,
  cfsPeriodSeconds: 0.1,
  margin: 0.15,
  percentile: 0.95,
};

/** Below these the method says the data is too thin instead of recommending. */
const MIN_COVERAGE = 0.5;
const MIN_SAMPLES = 10;
const MIN_ACTIVE = 5;
/** A raise smaller than this (relative) is not worth a change. */
const MIN_CHANGE = 0.1;

/** Nearest-rank percentile of the values (p in [0, 1]); undefined when empty. */
export function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1];
}

const round = (v: number, digits = 4) => Number(v.toFixed(digits));

/**
 * CPU the container wanted in its active CFS periods over one interval, cores.
 * Unthrottled: what it used plus what it waited for a CPU, per second. Throttled:
 * a burst the quota spread over several periods ends in one unthrottled period,
 * so the CPU used per unthrottled active period is the work of one burst — what
 * a quota must hold to finish it in one period; bounded above by everything it
 * had runnable (used, held by the quota, waiting for a CPU) per active period.
 */
export function demandCores(s: Sample, periodSeconds: number): number {
  if (s.seconds <= 0) return 0;
  if (s.throttled <= 0 || s.periods <= 0) return (s.usage + s.runqueueSeconds) / s.seconds;
  const perBurst = s.usage / (Math.max(1, s.periods - s.throttled) * periodSeconds);
  const runnable = (s.usage + s.throttledSeconds + s.runqueueSeconds) / (s.periods * periodSeconds);
  return Math.min(perBurst, runnable);
}

export const active = (s: Sample) => s.periods > 0 || s.usage > 0;

/** What the evidence says over a set of samples (also the before/after of a verified action). */
export interface Measures {
  seconds: number;
  samples: number;
  usageCores: number;
  throttledShare: number;
  throttledSecondsPerSecond: number;
  runqueueDelaySecondsPerSecond: number;
  memoryStallSecondsPerSecond: number;
  reclaimSecondsPerSecond: number;
  oomKills: number;
}

export function measure(samples: Sample[]): Measures {
  const sum = (f: (s: Sample) => number) => samples.reduce((a, s) => a + f(s), 0);
  const seconds = sum((s) => s.seconds);
  const per = (v: number) => (seconds > 0 ? round(v / seconds, 6) : 0);
  const periods = sum((s) => s.periods);
  return {
    seconds: round(seconds, 1),
    samples: samples.length,
    usageCores: per(sum((s) => s.usage)),
    throttledShare: periods > 0 ? round(sum((s) => s.throttled) / periods) : 0,
    throttledSecondsPerSecond: per(sum((s) => s.throttledSeconds)),
    runqueueDelaySecondsPerSecond: per(sum((s) => s.runqueueSeconds)),
    memoryStallSecondsPerSecond: per(sum((s) => s.memoryStallSeconds)),
    reclaimSecondsPerSecond: per(sum((s) => s.reclaimSeconds)),
    oomKills: sum((s) => s.oomKills),
  };
}

export interface CpuRecommendation {
  /** Limit the kernel's evidence asks for; absent when it asks for no change or data is thin. */
  limitCores?: number;
  currentLimitCores?: number;
  demandCores?: number;
  usageP95Cores?: number;
  /** KRR's simple strategy: p95 of usage. */
  krrCores?: number;
  /** VPA's recommender: p90 of usage × 1.15. */
  vpaCores?: number;
  activeSamples: number;
  rationale: string;
}

export interface MemoryRecommendation {
  limitBytes?: number;
  currentLimitBytes?: number;
  peakWorkingSetBytes?: number;
  /** KRR's simple strategy: max working set + 15 %. */
  krrBytes?: number;
  rationale: string;
}

export interface Recommendations {
  window: { startMs: number; endMs: number };
  confidence: SizingConfidence;
  coverage: number;
  samples: number;
  expectedSamples: number;
  evidence: Measures;
  cpu: CpuRecommendation;
  memory: MemoryRecommendation;
  /** Why there is no recommendation (too thin), or undefined. */
  thin?: string;
}

function confidenceOf(coverage: number, samples: number): SizingConfidence {
  if (coverage < MIN_COVERAGE || samples < MIN_SAMPLES) return "insufficient";
  if (coverage < 0.75) return "low";
  if (coverage < 0.95 || samples < 30) return "medium";
  return "high";
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

function cpu(
  samples: Sample[],
  cfg: MethodConfig,
  currentLimitCores: number | undefined,
): CpuRecommendation {
  const act = samples.filter(active);
  if (act.length < MIN_ACTIVE) {
    return {
      currentLimitCores,
      activeSamples: act.length,
      rationale: `too thin: the container ran in ${act.length} intervals of the window (at least ${MIN_ACTIVE} needed)`,
    };
  }
  const usage = act.map((s) => s.usage / s.seconds);
  const demand = act.map((s) => demandCores(s, cfg.cfsPeriodSeconds));
  const d = percentile(demand, cfg.percentile) ?? 0;
  const p95 = percentile(usage, 0.95) ?? 0;
  const p90 = percentile(usage, 0.9) ?? 0;
  const base = {
    currentLimitCores,
    demandCores: round(d),
    usageP95Cores: round(p95),
    krrCores: round(p95),
    vpaCores: round(p90 * 1.15),
    activeSamples: act.length,
  };
  const want = Math.ceil(d * (1 + cfg.margin) * 100) / 100;
  const m = measure(act);
  const held = `${pct(m.throttledShare)} of active CFS periods throttled, ${m.throttledSecondsPerSecond.toFixed(3)} s/s held by the quota, ${m.runqueueDelaySecondsPerSecond.toFixed(3)} s/s run-queue delay`;
  const usageOnly = `a usage-only percentile would say ${formatCpu(Math.max(base.krrCores, base.vpaCores))} (KRR p95 ${formatCpu(base.krrCores)}, VPA p90×1.15 ${formatCpu(base.vpaCores)})`;
  if (currentLimitCores === undefined) {
    return {
      ...base,
      rationale: `no CPU limit: p${Math.round(cfg.percentile * 100)} demand ${formatCpu(d)} (${held}); ${usageOnly}`,
    };
  }
  if (want <= currentLimitCores * (1 + MIN_CHANGE) || m.throttledShare < 0.05) {
    return {
      ...base,
      rationale: `the limit ${formatCpu(currentLimitCores)} holds the demand: p${Math.round(cfg.percentile * 100)} demand ${formatCpu(d)} (${held})`,
    };
  }
  return {
    ...base,
    limitCores: want,
    rationale: `raise the CPU limit ${formatCpu(currentLimitCores)} → ${formatCpu(want)}: p${Math.round(cfg.percentile * 100)} demand ${formatCpu(d)} + ${Math.round(cfg.margin * 100)} % (${held}); ${usageOnly}, which confirms the cap`,
  };
}

function memory(
  samples: Sample[],
  currentLimitBytes: number | undefined,
  m: Measures,
): MemoryRecommendation {
  const ws = samples.flatMap((s) => (s.workingSetBytes === undefined ? [] : [s.workingSetBytes]));
  const peak = ws.length ? Math.max(...ws) : undefined;
  const krr = peak === undefined ? undefined : Math.ceil(peak * 1.15);
  const base = { currentLimitBytes, peakWorkingSetBytes: peak, krrBytes: krr };
  const stalled = m.memoryStallSecondsPerSecond + m.reclaimSecondsPerSecond;
  const limit = currentLimitBytes;
  if (m.oomKills > 0 && limit !== undefined) {
    const to = Math.ceil(Math.max(limit * 1.25, (peak ?? 0) * 1.15));
    return {
      ...base,
      limitBytes: to,
      rationale: `raise the memory limit ${formatMemory(limit)} → ${formatMemory(to)}: ${m.oomKills} OOM kills in the window`,
    };
  }
  if (stalled >= 0.01 && limit !== undefined) {
    const to = Math.ceil(Math.max(limit * 1.15, (peak ?? 0) * 1.15));
    return {
      ...base,
      limitBytes: to,
      rationale: `raise the memory limit ${formatMemory(limit)} → ${formatMemory(to)}: ${stalled.toFixed(3)} s/s stalled in reclaim or on memory pressure`,
    };
  }
  if (peak === undefined) {
    return {
      ...base,
      rationale:
        "no OOM kills or reclaim stalls; no working-set series (needs Prometheus with cAdvisor's container_memory_working_set_bytes), so no memory recommendation",
    };
  }
  return {
    ...base,
    limitBytes: krr,
    rationale: `peak working set ${formatMemory(peak)} + 15 %, no OOM kills and ${stalled.toFixed(3)} s/s stalled`,
  };
}

export function recommend(
  samples: Sample[],
  cfg: MethodConfig,
  nowMs: number,
  current: { cpuCores?: number; memoryBytes?: number },
): Recommendations {
  const startMs = nowMs - cfg.windowMs;
  const inWindow = samples.filter((s) => s.endMs > startMs && s.endMs <= nowMs);
  const seconds = inWindow.reduce((a, s) => a + s.seconds, 0);
  const coverage = round(Math.min(1, (seconds * 1000) / cfg.windowMs), 3);
  const expectedSamples = Math.max(1, Math.round(cfg.windowMs / cfg.sampleMs));
  const confidence = confidenceOf(coverage, inWindow.length);
  const evidence = measure(inWindow);
  const limitCores = current.cpuCores ?? inWindow.at(-1)?.limitCores;
  const window = { startMs, endMs: nowMs };
  if (confidence === "insufficient") {
    const thin = `too thin to recommend: ${round(seconds, 1)} s of samples cover ${pct(coverage)} of the ${Math.round(cfg.windowMs / 1000)} s window in ${inWindow.length} samples (at least ${pct(MIN_COVERAGE)} and ${MIN_SAMPLES} samples needed)`;
    return {
      window,
      confidence,
      coverage,
      samples: inWindow.length,
      expectedSamples,
      evidence,
      cpu: { currentLimitCores: limitCores, activeSamples: 0, rationale: thin },
      memory: { currentLimitBytes: current.memoryBytes, rationale: thin },
      thin,
    };
  }
  return {
    window,
    confidence,
    coverage,
    samples: inWindow.length,
    expectedSamples,
    evidence,
    cpu: cpu(inWindow, cfg, limitCores),
    memory: memory(inWindow, current.memoryBytes, evidence),
  };
}
