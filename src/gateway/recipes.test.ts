// Per-step counts ("increase" recipes) sum to what the counter really counted
// over a range, in both evaluators: the in-memory one (direct-observer mode) and
// the PromQL the Prometheus source sends.
import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateRaw } from "./recipes.ts";
import { rateWindowMs } from "./signals.ts";
import { promql } from "./sources/prometheus.ts";
import { METRIC, SIGNAL_DEFS } from "../shared/signals/catalogue.ts";
import type { RawSeries } from "./sources/source.ts";

const SCRAPE = 15_000;
const labels = { namespace: "batch", pod: "report-builder", container: "app" };

/** An OOM-kill counter scraped every 15 s for 30 min, one kill every 20 s from minute 5 to 15. */
function kills(): { series: RawSeries; total: number } {
  const times: number[] = [];
  const values: number[] = [];
  let n = 0;
  for (let t = 0; t <= 30 * 60_000; t += SCRAPE) {
    n = Math.max(0, Math.min(Math.floor((t - 5 * 60_000) / 20_000), 30));
    times.push(t);
    values.push(n);
  }
  return { series: { metric: METRIC.oomKills, labels, times, values }, total: n };
}

test("oom-kill per step: the steps of a range sum to the kills counted in it, at any step", () => {
  const { series, total } = kills();
  assert.equal(total, 30);
  for (const stepMs of [1_000, 5_000, 15_000, 60_000]) {
    const range = { fromMs: 0, toMs: 30 * 60_000, stepMs };
    const out = evaluateRaw(
      SIGNAL_DEFS["oom-kill"].recipe,
      [series],
      range,
      rateWindowMs(stepMs, SCRAPE),
    );
    assert.equal(out.length, 1);
    const sum = (out[0]?.values ?? []).reduce((a, b) => a + b, 0);
    // Not total × window/step (the old per-window increase: 60 s windows at a 1 s
    // step summed every kill about 60 times).
    assert.ok(
      Math.abs(sum - total) <= 0.05 * total,
      `step ${stepMs} ms: sum ${sum}, counted ${total}`,
    );
  }
});

test("oom-kill per step in PromQL: the window's rate times the step", () => {
  const [q] = promql(SIGNAL_DEFS["oom-kill"].recipe, {}, rateWindowMs(5_000, SCRAPE), 5_000);
  const expr = q?.expr ?? "";
  assert.ok(expr.startsWith("sum by ("), expr);
  assert.ok(expr.includes(`(rate(${METRIC.oomKills}{`), expr);
  assert.ok(expr.endsWith("}[60000ms])) * 5"), expr);
});
