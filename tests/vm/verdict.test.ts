// The matrix's verdicts against tests/vm/expectations.ts (verdict.ts, ADR 0060):
// a documented degradation keeps a kernel green, every disagreement with the file
// (either direction, a stale entry, a guest problem) turns it red.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Expectation } from "./expectations.ts";
import type { KernelResult, TargetOutcome } from "./runner.ts";
import { checkExpectations, judge } from "./verdict.ts";

const doctor = (name: string, ok: boolean, detail: string): TargetOutcome => ({
  target: "doctor",
  name,
  status: ok ? "ok" : "FAILED",
  detail,
  failure: ok ? undefined : detail,
});
const scenario = (name: string, status: TargetOutcome["status"], failure?: string) => ({
  target: "signals",
  name,
  status,
  failure,
});

function result(tests: TargetOutcome[], extra: Partial<KernelResult> = {}): KernelResult {
  return {
    kernel: {
      id: "5.10",
      suite: "bullseye",
      release: "5.10.0-46-cloud-amd64",
      packages: [],
      dir: "/nonexistent",
      resolvedAt: "",
    },
    machine: { smp: 2, memMiB: 2048, cpu: "max", tcgThread: "multi" },
    tests,
    completed: ["doctor", "signals", "births"],
    fullRun: true,
    problems: [],
    kernelTrouble: [],
    bootSeconds: 4,
    seconds: 100,
    dir: "/nonexistent",
    ...extra,
  };
}

const drops: Expectation = {
  test: "doctor::drops",
  expect: "fail",
  reason: "no enum skb_drop_reason before 5.17",
  match: /skb_drop_reason/,
};

test("a listed failure is a documented degradation, the rest is counted plainly", () => {
  const v = judge(
    result([
      doctor("drops", false, "enum skb_drop_reason not in kernel BTF"),
      doctor("cpu", true, "cpu.stat"),
      scenario("oom_kill_names_the_killed_pid", "ok"),
      scenario("something_ignored", "ignored"),
    ]),
    [drops],
  );
  assert.deepEqual(
    [v.passed, v.failed, v.skipped, v.degradations],
    [2, 0, 1, 1],
    JSON.stringify(v.judged),
  );
  assert.equal(v.judged.find((j) => j.test === "doctor::drops")?.note, drops.reason);
});

test("a listed failure that passes fails the run as unexpectedly passed", () => {
  const v = judge(result([doctor("drops", true, "tp_btf skb:kfree_skb")]), [drops]);
  assert.equal(v.failed, 1);
  assert.match(v.judged[0]?.note ?? "", /unexpectedly passed/);
});

test("a listed failure that fails for another reason is a failure", () => {
  const v = judge(result([doctor("drops", false, "raw_tp: Invalid argument")]), [drops]);
  assert.equal(v.failed, 1);
  assert.match(v.judged[0]?.note ?? "", /not as expected/);
});

test("degraded: loads in the lesser form; full form or failure disagree", () => {
  const e: Expectation = {
    test: "doctor::drops",
    expect: "degraded",
    reason: "reasons unknown before 5.17",
    match: /reason unknown/,
  };
  const ok = judge(result([doctor("drops", true, "raw_tp kfree_skb, reason unknown")]), [e]);
  assert.equal(ok.degradations, 1);
  const full = judge(result([doctor("drops", true, "tp_btf kfree_skb")]), [e]);
  assert.match(full.judged[0]?.note ?? "", /no longer degraded/);
  const off = judge(result([doctor("drops", false, "does not load")]), [e]);
  assert.equal(off.failed, 1);
});

test("an unlisted failure fails; a listed test that did not run is stale unless its executable died", () => {
  const stale: Expectation = {
    test: "signals::renamed_away",
    expect: "fail",
    reason: "x",
  };
  const v = judge(result([scenario("tcp", "FAILED", "assertion failed")]), [stale]);
  assert.equal(v.failed, 2);
  assert.ok(v.judged.some((j) => /stale expectation/.test(j.note ?? "")));
  const died = judge(
    result([], { completed: ["doctor"], problems: ["guest timed out after 900 s"] }),
    [stale],
  );
  assert.equal(died.failed, 1);
  assert.match(died.judged[0]?.note ?? "", /^5\.10\.0-46-cloud-amd64: guest timed out/);
  const filtered = judge(result([], { fullRun: false }), [stale]);
  assert.equal(filtered.failed, 0);
});

test("the expectations file is checked for shape before a guest boots", () => {
  checkExpectations(); // the committed file
  assert.throws(() => checkExpectations({ "4.19": [] }), /not a kernel of matrix.ts/);
  assert.throws(
    () => checkExpectations({ "5.10": [{ test: "signals::x", expect: "degraded", reason: "r" }] }),
    /needs a doctor:: signal/,
  );
  assert.throws(
    () => checkExpectations({ "5.10": [{ test: "signals::x", expect: "fail", reason: " " }] }),
    /no reason/,
  );
});
