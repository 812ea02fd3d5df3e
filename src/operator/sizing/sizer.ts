// Right-sizing for the writer (ADR 0090, 0091): the window of one container's
// samples — from Prometheus when configured, else from the operator's own
// store — turned into a recommendation and the whisper's status.sizing, and
// the before/after measures of a verified action.
import type { Sizing, SizingMeasures } from "../../shared/model/kernel-whisper.ts";
import { formatCpu, formatMemory } from "../engine/quantity.ts";
import type { ContainerResources } from "../engine/pod-info.ts";
import { measure, recommend, type MethodConfig, type Recommendations } from "./method.ts";
import { prometheusHistory } from "./prometheus.ts";
import { containerKey, samplesOf, type Store } from "./store.ts";

export interface SizingConfig extends MethodConfig {
  enabled: boolean;
  prometheusUrl?: string;
  timeoutMs: number;
}

export interface ContainerRef {
  namespace: string;
  pod: string;
  container: string;
  /** Pod UID and container id: how an observer without API access labels the series. */
  uid?: string;
  containerId?: string;
}

/** The store's key for a container: by names, else as an observer without API access names it. */
function keyOf(store: Store, c: ContainerRef): string {
  const named = containerKey(c.namespace, c.pod, c.container);
  if (store.tracks.has(named) || !c.uid || !c.containerId) return named;
  return containerKey("", c.uid, c.containerId.slice(0, 12));
}

export type Sizer = ReturnType<typeof sizer>;

export function sizer(cfg: SizingConfig, store: Store) {
  const prom = cfg.prometheusUrl ? prometheusHistory(cfg.prometheusUrl, cfg.timeoutMs) : undefined;
  const source: Sizing["source"] = prom ? "prometheus" : "observer-metrics";

  const samples = (c: ContainerRef, startMs: number, endMs: number) =>
    prom
      ? prom.samples(c, startMs, endMs, cfg.sampleMs)
      : Promise.resolve(samplesOf(store, keyOf(store, c), startMs, endMs));

  /** The recommendation for one container at `nowMs`, and its status form. */
  async function size(
    c: ContainerRef,
    resources: ContainerResources | undefined,
    nowMs: number,
  ): Promise<{ rec: Recommendations; status: Sizing }> {
    const got = await samples(c, nowMs - cfg.windowMs, nowMs);
    const rec = recommend(got, cfg, nowMs, {
      cpuCores: resources?.cpuLimitCores,
      memoryBytes: resources?.memoryLimitBytes,
    });
    const cpu = rec.cpu;
    const mem = rec.memory;
    const usageOnly =
      cpu.krrCores !== undefined && cpu.vpaCores !== undefined
        ? `KRR p95 usage ${formatCpu(cpu.krrCores)}, VPA p90 usage × 1.15 ${formatCpu(cpu.vpaCores)}`
        : undefined;
    const status: Sizing = {
      container: c.container,
      source,
      window: {
        start: new Date(rec.window.startMs).toISOString(),
        end: new Date(rec.window.endMs).toISOString(),
      },
      confidence: rec.confidence,
      coverage: rec.coverage,
      samples: rec.samples,
      evidence: rec.evidence,
      cpu: {
        ...(cpu.currentLimitCores !== undefined
          ? { current: formatCpu(cpu.currentLimitCores) }
          : {}),
        ...(cpu.limitCores !== undefined ? { recommended: formatCpu(cpu.limitCores) } : {}),
        ...(cpu.demandCores !== undefined ? { demandCores: cpu.demandCores } : {}),
        ...(usageOnly ? { usageOnly } : {}),
        rationale: cpu.rationale.slice(0, 2048),
      },
      memory: {
        ...(mem.currentLimitBytes !== undefined
          ? { current: formatMemory(mem.currentLimitBytes) }
          : {}),
        ...(mem.limitBytes !== undefined ? { recommended: formatMemory(mem.limitBytes) } : {}),
        ...(mem.peakWorkingSetBytes !== undefined
          ? { peakWorkingSet: formatMemory(mem.peakWorkingSetBytes) }
          : {}),
        rationale: mem.rationale.slice(0, 2048),
      },
    };
    return { rec, status };
  }

  /** What the evidence says for a container between two instants. */
  async function measures(
    c: ContainerRef,
    startMs: number,
    endMs: number,
  ): Promise<SizingMeasures> {
    return measure(await samples(c, startMs, endMs));
  }

  return { size, measures, windowMs: cfg.windowMs, sampleMs: cfg.sampleMs, source };
}
