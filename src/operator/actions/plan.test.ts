import assert from "node:assert/strict";
import { test } from "node:test";
import type { Recommendation } from "../../shared/model/kernel-whisper.ts";
import { capStep, plan, DEFAULT_ACTIONS, type ActionConfig } from "./plan.ts";

const now = new Date("2026-11-25T10:05:10Z");
const recommendation: Recommendation = {
  action: "raise-cpu-limit",
  rationale: "r",
  change: {
    target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "checkout" },
    container: "app",
    field: "spec.template.spec.containers[name=app].resources.limits.cpu",
    from: "500m",
    to: "1",
  },
};
const input = {
  namespace: "shop",
  pod: "checkout-1",
  recommendation,
  kernelTruth: {
    window: { start: "2026-11-25T10:00:00Z", end: "2026-11-25T10:05:00Z" },
    quantities: [{ name: "throttledPeriodsRatio", value: 0.6, unit: "ratio" as const }],
  },
  history: [],
  now,
};
const cfg = (over: Partial<ActionConfig>): ActionConfig => ({ ...DEFAULT_ACTIONS, ...over });

test("off by default: nothing is planned", () => {
  assert.deepEqual(plan(DEFAULT_ACTIONS, input), { kind: "skip" });
});

test("dry-run records the exact patches it would apply — relief and lasting change — once", () => {
  const p = plan(cfg({ mode: "dry-run" }), input);
  assert.equal(p.kind, "record");
  assert.equal(p.record.mode, "dry-run");
  assert.match(
    p.record.result,
    /^would apply: immediate relief: resize pod shop\/checkout-1 container app limits\.cpu 500m → 750m: \{"spec":\{"containers":\[\{"name":"app","resources":\{"limits":\{"cpu":"750m"\}\}\}\]\}\}; then lasting change: patch Deployment shop\/checkout template container app limits\.cpu 500m → 750m: \{"spec":\{"template":\{"spec":\{"containers":/,
  );
  assert.deepEqual(plan(cfg({ mode: "dry-run" }), { ...input, history: [p.record] }), {
    kind: "skip",
  });
});

test("on: refuses outside the allow-list, applies inside it with the step capped", () => {
  const refused = plan(cfg({ mode: "on", namespaces: ["other"] }), input);
  assert.equal(refused.kind, "record");
  assert.match(refused.record.result, /not allow-listed/);
  const apply = plan(cfg({ mode: "on", namespaces: ["shop"] }), input);
  assert.equal(apply.kind, "apply");
  assert.equal(apply.to, "750m"); // 500m × 1.5, not the proposed 1
  assert.deepEqual(
    apply.patches.map((p) => p.via),
    ["resize", "workload"],
  );
});

test("on: cooldown and stale evidence are refused", () => {
  const applied = {
    time: "2026-11-25T10:04:00Z",
    action: "raise-cpu-limit" as const,
    mode: "applied" as const,
    result: "x",
  };
  const cool = plan(cfg({ mode: "on", namespaces: ["shop"] }), { ...input, history: [applied] });
  assert.equal(cool.kind, "record");
  assert.match(cool.record.result, /cooldown/);
  const stale = plan(cfg({ mode: "on", namespaces: ["shop"] }), {
    ...input,
    now: new Date("2026-11-25T10:20:00Z"),
  });
  assert.equal(stale.kind, "record");
  assert.match(stale.record.result, /older than its window/);
});

test("capStep limits growth per change", () => {
  assert.equal(capStep("cpu", "500m", "2", 1.5), "750m");
  assert.equal(capStep("cpu", "500m", "600m", 1.5), "600m");
  assert.equal(capStep("memory", "256Mi", "1Gi", 2), "512Mi");
});
