// Reads libtest's plain output (`test <name> ... ok|FAILED|ignored`, the
// `---- <name> stdout ----` failure sections, `test result:`) into per-test
// outcomes. Tolerant of kernel console messages landing inside a line: a
// result token on a later line completes the pending test.
export type TestStatus = "ok" | "FAILED" | "ignored";

export interface TestOutcome {
  name: string;
  status: TestStatus;
  /** The captured output of a failed test (its panic message and prints). */
  failure?: string;
  /** What a passing doctor pseudo-test said (the program type serving the signal). */
  detail?: string;
  /** Host seconds from the previous result line to this one (TCG time, not the host's). */
  seconds?: number;
}

const RESULT = /^(ok|FAILED|ignored)(?:,.*)?$/;

export interface LibtestRun {
  tests: TestOutcome[];
  /** A test that started but printed no result (the guest died or hung in it). */
  unfinished: string | undefined;
}

export function parseLibtest(stdout: string): LibtestRun {
  const outcomes = new Map<string, TestOutcome>();
  let pending: string | undefined;
  const lines = stdout.split("\n");
  for (const line of lines) {
    const m = /^test (\S+) \.\.\. (.*)$/.exec(line);
    if (m?.[1]) {
      const status = RESULT.exec(m[2]?.trim() ?? "")?.[1] as TestStatus | undefined;
      if (status) {
        outcomes.set(m[1], { name: m[1], status });
        pending = undefined;
      } else {
        pending = m[1];
      }
      continue;
    }
    const late = RESULT.exec(line.trim())?.[1] as TestStatus | undefined;
    if (pending && late) {
      outcomes.set(pending, { name: pending, status: late });
      pending = undefined;
    }
  }
  // Failure sections: "---- name stdout ----" up to the next section or "failures:".
  let name: string | undefined;
  let text: string[] = [];
  const flush = () => {
    const o = name ? outcomes.get(name) : undefined;
    if (o) o.failure = text.join("\n").trim();
    name = undefined;
    text = [];
  };
  for (const line of lines) {
    const sec = /^---- (\S+) stdout ----$/.exec(line);
    if (sec?.[1]) {
      flush();
      name = sec[1];
    } else if (name && (line === "failures:" || line.startsWith("test result:"))) {
      flush();
    } else if (name) {
      text.push(line);
    }
  }
  flush();
  return { tests: [...outcomes.values()], unfinished: pending };
}
