// OTLP-fed series that merge into kernel-gossip signals: the metrics the Pixie
// manifest ties to a signal (pod network drops → packet-drops, TCP
// retransmits → tcp-retransmits), evaluated with the same recipe arithmetic as
// the observers' counters and labelled source=pixie, so one signal query
// shows the kernel's view and Pixie's side by side, per pod.
import { exportedMetrics, type MetricDef, type ScriptDef } from "../../pixie/manifest.ts";
import { evaluateRaw } from "../recipes.ts";
import type { PlotSignal } from "../../shared/signals/catalogue.ts";
import { rateWindowMs } from "../signals.ts";
import type { Filters, RangeRequest, Recipe, Series } from "../sources/source.ts";
import type { OtlpStore } from "./store.ts";

export interface OtlpSignal {
  metric: MetricDef;
  recipe: Recipe;
}

/** Signal → the exported metric that feeds it (a rate of a counter, by its attributes). */
export function otlpSignals(scripts: ReadonlyMap<string, ScriptDef>): Map<string, OtlpSignal> {
  const out = new Map<string, OtlpSignal>();
  for (const m of exportedMetrics(new Map(scripts)).values()) {
    if (!m.signal) continue;
    out.set(m.signal, { metric: m, recipe: { kind: "rate", metric: m.name, by: m.attributes } });
  }
  return out;
}

/** Metrics whose gauge points each count one export period. */
export function deltaGauges(scripts: ReadonlyMap<string, ScriptDef>): Set<string> {
  return new Set(
    [...exportedMetrics(new Map(scripts)).values()]
      .filter((m) => m.temporality === "delta")
      .map((m) => m.name),
  );
}

export function otlpSignalSeries(
  signal: PlotSignal,
  catalogue: ReadonlyMap<string, OtlpSignal>,
  store: OtlpStore,
  filters: Filters,
  range: RangeRequest,
  intervalMs: number,
): Series[] {
  const def = catalogue.get(signal);
  if (!def) return [];
  const windowMs = rateWindowMs(range.stepMs, intervalMs);
  const raw = store.samples([def.metric.name], filters, range.fromMs - windowMs, range.toMs);
  return evaluateRaw(def.recipe, raw, range, windowMs).map((s) => ({
    ...s,
    labels: { ...s.labels, source: "pixie" },
  }));
}
