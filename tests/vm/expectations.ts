// What the kernel matrix is expected NOT to pass, per guest kernel, each with its
// reason (ADR 0060). The matrix (tests/vm/stage.ts, in `./kg test`) compares every
// run with this file: a listed failure or degradation keeps CI green and is shown
// as "expected"; anything else that fails is a failure, and so is a listed entry
// that now passes ("unexpectedly passed") or that no longer runs (stale), so this
// file stays true. Keys are the matrix ids of matrix.ts (a kernel line, not a
// release: Debian's point releases move under them).
//
// An entry's `test` is `<target>::<name>`:
//   signals::oom_kill_names_the_killed_pid    a scenario test (observer/tests/signals.rs)
//   births::ten_concurrent_starts_are_ten_births
//   doctor::drops                             a doctor signal: passes when it loads
// `expect`:
//   "fail"      the test fails (doctor: the signal does not load). `match`, when
//               given, must match the failure text (doctor: its detail), so a
//               different failure is still reported.
//   "degraded"  doctor signals only: the signal loads in a lesser form; `match`
//               (required) must match doctor's detail (e.g. /reason unknown/). When
//               the detail stops matching, the signal changed: update this file.

export interface Expectation {
  test: string;
  expect: "fail" | "degraded";
  /** Why, in words a reader of the summary understands (kernel version, missing hook). */
  reason: string;
  match?: RegExp;
}

export const EXPECTATIONS: Record<string, Expectation[]> = {
  "5.10": [],
  "6.1": [],
  "6.12": [],
  sid: [],
};
