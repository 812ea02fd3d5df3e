// signal: one frame per series (Grafana's multi-frame time series), each with
// the time field's interval set to the step so Grafana draws missing steps as
// gaps instead of joining across them.
import { field, frame, type Frame } from "../frames.ts";
import { SIGNAL_DEFS, type PlotSignal } from "../../shared/signals/catalogue.ts";
import type { Filters, RangeRequest, Series, SignalSource } from "../sources/source.ts";

/** "shop/checkout/app", or the cgroup path for workloads that are not pods. */
export function seriesName(labels: Record<string, string>): string {
  const who = labels.pod
    ? [labels.namespace, labels.pod, labels.container].filter(Boolean).join("/")
    : (labels.cgroup ?? "");
  const extra = ["quantile", "reason", "kind", "direction", "source"]
    .filter((k) => labels[k])
    .map((k) => (k === "quantile" ? `p${Number(labels[k]) * 100}` : (labels[k] ?? "")));
  return [who, ...extra].filter(Boolean).join(" ") || "all";
}

export async function signalFrames(
  refId: string,
  signal: PlotSignal,
  source: SignalSource | undefined,
  filters: Filters,
  range: RangeRequest,
  pushed: Series[] = [],
): Promise<Frame[]> {
  const def = SIGNAL_DEFS[signal];
  const series = source ? await source.evaluate(def.recipe, filters, range) : [];
  series.push(...pushed);
  series.sort((a, b) => seriesName(a.labels).localeCompare(seriesName(b.labels)));
  return series.map((s) => {
    const value = field(signal, "number", s.values, { unit: def.unit, labels: s.labels });
    value.config.displayNameFromDS = seriesName(s.labels);
    value.config.description = def.description;
    return frame(refId, [field("time", "time", s.times, { interval: range.stepMs }), value], {
      name: seriesName(s.labels),
      meta: { type: "timeseries-multi", preferredVisualisationType: "graph" },
    });
  });
}
