// Judges one guest kernel's run against tests/vm/expectations.ts (ADR 0060): each
// scenario test and doctor pseudo-test becomes passed, failed, skipped or
// "degradation" (a documented, expected failure or lesser form), and every way the
// run can disagree with the file is a failure: an unlisted failure, a listed one
// that passes or fails differently, a listed test that no longer runs, and any
// problem of the guest itself (timeout, crash, a command that never started).
import { EXPECTATIONS, type Expectation } from "./expectations.ts";
import { MATRIX } from "./matrix.ts";
import type { KernelResult, TargetOutcome } from "./runner.ts";

export type Verdict = "passed" | "failed" | "skipped" | "degradation";

export interface Judged {
  /** `<target>::<name>`, or `guest` for a problem of the run itself. */
  test: string;
  verdict: Verdict;
  /** Why it is not a plain pass: the failure, the expectation's reason, the mismatch. */
  note?: string;
  outcome?: TargetOutcome;
}

export interface KernelVerdict {
  judged: Judged[];
  passed: number;
  failed: number;
  skipped: number;
  degradations: number;
}

/** Throws naming the entry when expectations.ts is malformed (checked before any guest boots). */
export function checkExpectations(table: Record<string, Expectation[]> = EXPECTATIONS): void {
  for (const [id, list] of Object.entries(table)) {
    if (!MATRIX.some((l) => l.id === id)) {
      throw new Error(`tests/vm/expectations.ts: "${id}" is not a kernel of matrix.ts`);
    }
    const seen = new Set<string>();
    for (const e of list) {
      const where = `tests/vm/expectations.ts ${id} ${e.test}`;
      if (!/^[a-z_]+::[A-Za-z0-9_:]+$/.test(e.test))
        throw new Error(`${where}: not <target>::<name>`);
      if (seen.has(e.test)) throw new Error(`${where}: listed twice`);
      seen.add(e.test);
      if (!e.reason.trim()) throw new Error(`${where}: no reason`);
      if (e.expect === "degraded" && (!e.test.startsWith("doctor::") || !e.match)) {
        throw new Error(`${where}: "degraded" needs a doctor:: signal and a match on its detail`);
      }
    }
  }
}

const name = (t: TargetOutcome) => `${t.target}::${t.name}`;

function judgeOne(t: TargetOutcome, e: Expectation | undefined): Judged {
  const test = name(t);
  const text = t.status === "FAILED" ? (t.failure ?? "") : (t.detail ?? "");
  if (!e) {
    if (t.status === "ok") return { test, verdict: "passed", outcome: t };
    if (t.status === "ignored") return { test, verdict: "skipped", outcome: t };
    return { test, verdict: "failed", note: t.failure, outcome: t };
  }
  if (t.status === "ignored") return { test, verdict: "skipped", outcome: t };
  const matches = !e.match || e.match.test(text);
  if (e.expect === "fail") {
    if (t.status === "ok") {
      return {
        test,
        verdict: "failed",
        note: `unexpectedly passed (expected to fail: ${e.reason}); remove it from tests/vm/expectations.ts`,
        outcome: t,
      };
    }
    if (!matches) {
      return {
        test,
        verdict: "failed",
        note: `failed, but not as expected (${String(e.match)} does not match; expected because: ${e.reason}):\n${text}`,
        outcome: t,
      };
    }
    return { test, verdict: "degradation", note: e.reason, outcome: t };
  }
  // degraded: loads, in the documented lesser form.
  if (t.status === "FAILED") {
    return {
      test,
      verdict: "failed",
      note: `expected to load degraded (${e.reason}), but fails: ${text}`,
      outcome: t,
    };
  }
  if (!matches) {
    return {
      test,
      verdict: "failed",
      note: `unexpectedly passed: no longer degraded as expected (${String(e.match)} does not match "${text}"; ${e.reason}); update tests/vm/expectations.ts`,
      outcome: t,
    };
  }
  return { test, verdict: "degradation", note: e.reason, outcome: t };
}

export function judge(
  r: KernelResult,
  expectations: Expectation[] = EXPECTATIONS[r.kernel.id] ?? [],
): KernelVerdict {
  const byTest = new Map(expectations.map((e) => [e.test, e]));
  // The guest's own problems are one failure of the kernel, whatever their number.
  const judged: Judged[] = r.problems.length
    ? [{ test: "guest", verdict: "failed", note: `${r.kernel.release}: ${r.problems.join("\n")}` }]
    : [];
  const ran = new Set<string>();
  for (const t of r.tests) {
    ran.add(name(t));
    judged.push(judgeOne(t, byTest.get(name(t))));
  }
  // A listed test that did not run although its executable ran to the end.
  for (const e of expectations) {
    const target = e.test.split("::")[0] ?? "";
    const complete = r.completed.includes(target) && (target === "doctor" || r.fullRun);
    if (!ran.has(e.test) && complete) {
      judged.push({
        test: e.test,
        verdict: "failed",
        note: `stale expectation: ${e.test} did not run on ${r.kernel.release}; remove or rename it in tests/vm/expectations.ts`,
      });
    }
  }
  const n = (v: Verdict) => judged.filter((j) => j.verdict === v).length;
  return {
    judged,
    passed: n("passed"),
    failed: n("failed"),
    skipped: n("skipped"),
    degradations: n("degradation"),
  };
}
