// Severity thresholds and recommendation margins. Defaults are documented in
// src/operator/README.md; every value can be overridden in the config file.

export interface Thresholds {
  cpuThrottling: {
    /** throttled periods / periods at which a whisper is a warning. */
    warningRatio: number;
    criticalRatio: number;
    /** Average usage (% of limit) below which throttling is called bursty. */
    burstyUsagePercent: number;
    /** Headroom over observed demand when proposing a new limit. */
    headroom: number;
  };
  runqueueDelay: {
    warningSeconds: number;
    criticalSeconds: number;
    /** Share of one CPU that other cgroups took from the waiting workload (ADR 0095). */
    stolenWarningRatio: number;
    stolenCriticalRatio: number;
  };
  oomKill: { memoryMargin: number; leakAfterOccurrences: number };
  memoryPressure: { warningSeconds: number; criticalSeconds: number; memoryMargin: number };
  packetDrops: { warningCount: number; criticalCount: number };
  tcpRetransmits: { warningCount: number; criticalCount: number };
  tcpResets: { warningCount: number; criticalCount: number };
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  cpuThrottling: { warningRatio: 0.1, criticalRatio: 0.3, burstyUsagePercent: 60, headroom: 1.25 },
  runqueueDelay: {
    warningSeconds: 0.01,
    criticalSeconds: 0.05,
    stolenWarningRatio: 0.1,
    stolenCriticalRatio: 0.5,
  },
  oomKill: { memoryMargin: 1.25, leakAfterOccurrences: 3 },
  memoryPressure: { warningSeconds: 1, criticalSeconds: 10, memoryMargin: 1.25 },
  packetDrops: { warningCount: 100, criticalCount: 1000 },
  tcpRetransmits: { warningCount: 10, criticalCount: 100 },
  tcpResets: { warningCount: 10, criticalCount: 100 },
};

/** Grades a value against ascending warning/critical thresholds. */
export function grade(value: number, warning: number, critical: number) {
  if (value >= critical) return "critical" as const;
  if (value >= warning) return "warning" as const;
  return "info" as const;
}
