// The shipped Prometheus rules are valid for the real promtool, and every
// alert carries the label contract the operator maps (kernel_gossip_signal,
// severity) with a value annotation.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { RULES_PATH } from "../crds/generate.ts";
import { SIGNALS } from "../model/kernel-whisper.ts";
import { prometheusRules, SHIPPED_RULES } from "./prometheus-rules.ts";

test("promtool accepts the shipped rules", async () => {
  const { stdout } = await promisify(execFile)("promtool", ["check", "rules", RULES_PATH]);
  assert.match(stdout, /SUCCESS: 6 rules found/);
});

test("each rule carries a known signal, a severity and a value annotation", () => {
  for (const rule of prometheusRules(SHIPPED_RULES).groups[0]?.rules ?? []) {
    assert.ok(SIGNALS.includes(rule.labels.kernel_gossip_signal), rule.alert);
    assert.ok(["info", "warning", "critical"].includes(rule.labels.severity));
    assert.equal(rule.annotations.kernel_gossip_value, "{{ $value }}");
    assert.equal(rule.annotations.kernel_gossip_window, "5m");
  }
});

test("matchers narrow every selector", () => {
  const rules =
    prometheusRules({ ...SHIPPED_RULES, matchers: 'cgroup="/x"' }).groups[0]?.rules ?? [];
  for (const r of rules) assert.match(r.expr, /cgroup="\/x"/, r.alert);
});
