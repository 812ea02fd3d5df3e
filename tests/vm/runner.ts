// Runs the observer in one guest kernel (ADR 0060): `doctor --json` and the cargo
// scenario test executables (signals, births) with --test-threads=1, and turns
// the serial console into a per-test report. Every file of a run goes to
// <repo>/.kg/vm/<kernel id>/ (serial.log, doctor.json, <target>.stdout/.stderr,
// result.json) so a person can read what the guest said.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";
import { buildTestBinaries, GUEST_TEST_TARGETS, type TestBinaries } from "./cargo.ts";
import { boot, type GuestCommand } from "./guest.ts";
import { resolvedKernel } from "./kernels.ts";
import { parseLibtest, type TestOutcome } from "./libtest.ts";
import type { ResolvedKernel } from "./matrix.ts";
import { baseLayer, binariesLayer, modulesLayer } from "./root.ts";

export const RESULTS = process.env.KG_VM_RESULTS ?? join(REPO_ROOT, ".kg/vm");

export interface RunOptions {
  doctor?: boolean;
  /** Run the scenario tests; a string is libtest's name filter. */
  tests?: boolean | string;
  /** A shell on the console after the commands. */
  shell?: boolean;
  timeoutMs?: number;
  /** Each serial line as it arrives. */
  onLine?: (line: string) => void;
  log?: (s: string) => void;
  /** Prebuilt binaries (the matrix builds once for every kernel). */
  binaries?: TestBinaries;
}

export interface TargetOutcome extends TestOutcome {
  target: string;
}

export interface KernelResult {
  kernel: ResolvedKernel;
  doctor?: { rc: number | undefined; json: unknown; file: string };
  tests: TargetOutcome[];
  /** What went wrong outside a test's own result: timeout, a crashed executable, … */
  problems: string[];
  bootSeconds: number | undefined;
  seconds: number;
  dir: string;
}

/** Default guest budget: TCG runs the scenario tests many times slower than the host. */
/** KG_TEST_TIME_SCALE in guests (observer/tests/common/mod.rs). */
const GUEST_TIME_SCALE = "5";

const DEFAULT_TIMEOUT_MS = Number(process.env.KG_VM_TIMEOUT_S ?? 1800) * 1000;

export async function runKernel(id: string, opts: RunOptions = {}): Promise<KernelResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const kernel = resolvedKernel(id);
  const bins = opts.binaries ?? (await buildTestBinaries());
  const layers = [
    baseLayer(),
    modulesLayer(kernel),
    binariesLayer([bins.observer, ...bins.tests.values()]),
  ];
  // TCG runs the guest many times slower than the host: the scenario tests
  // stretch their waits and the observer's timeouts by this factor (never what
  // they compare). KG_LOG and any KG_TEST_* of the caller pass through.
  const env: Record<string, string> = { KG_TEST_TIME_SCALE: GUEST_TIME_SCALE };
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && (k === "KG_LOG" || k.startsWith("KG_TEST_"))) env[k] = v;
  }
  const commands: GuestCommand[] = [
    {
      id: "info",
      argv: [
        "/bin/sh",
        "-c",
        "uname -r; cat /proc/cmdline; echo cgroup2: $(cat /sys/fs/cgroup/cgroup.subtree_control); " +
          "ls /sys/kernel/btf/vmlinux; nproc; grep MemTotal /proc/meminfo",
      ],
    },
  ];
  if (opts.doctor !== false) {
    commands.push({ id: "doctor", argv: [bins.observer, "doctor", "--json"], env });
  }
  if (opts.tests !== false && opts.tests !== undefined) {
    for (const target of GUEST_TEST_TARGETS) {
      const exe = bins.tests.get(target) ?? "";
      const filter = typeof opts.tests === "string" ? [opts.tests] : [];
      commands.push({ id: target, argv: [exe, "--test-threads=1", ...filter], env });
    }
  }
  const dir = join(RESULTS, id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(
    `vm ${id}: booting ${kernel.release} (${kernel.suite}), ${commands.map((c) => c.id).join(", ")}`,
  );
  const r = await boot({
    kernel,
    layers,
    commands,
    workDir: dir,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    scratchAt: bins.targetTmpDir,
    interactive: opts.shell,
    onLine: opts.onLine,
  });
  const problems: string[] = [];
  if (r.timedOut)
    problems.push(`guest ${kernel.release} timed out after ${r.seconds.toFixed(0)} s`);
  const result: KernelResult = {
    kernel,
    tests: [],
    problems,
    bootSeconds: r.bootSeconds,
    seconds: r.seconds,
    dir,
  };
  for (const c of commands) {
    const f = r.frames.get(c.id);
    if (!f) {
      problems.push(`${c.id}: never started in the guest (see ${join(dir, "serial.log")})`);
      continue;
    }
    writeFileSync(join(dir, `${c.id}.stdout`), f.stdout);
    writeFileSync(join(dir, `${c.id}.stderr`), f.stderr);
    if (f.rc === undefined) problems.push(`${c.id}: the guest ended before it finished`);
    if (c.id === "doctor") {
      let json: unknown;
      try {
        json = JSON.parse(f.stdout);
      } catch {
        problems.push(`doctor: stdout is not JSON (exit ${String(f.rc)})`);
      }
      const file = join(dir, "doctor.json");
      if (json !== undefined) writeFileSync(file, JSON.stringify(json, null, 2) + "\n");
      result.doctor = { rc: f.rc, json, file };
    } else if (GUEST_TEST_TARGETS.includes(c.id)) {
      const run = parseLibtest(f.stdout);
      for (const t of run.tests) result.tests.push({ ...t, target: c.id });
      if (run.unfinished) {
        result.tests.push({
          name: run.unfinished,
          status: "FAILED",
          target: c.id,
          failure: "the guest ended while this test ran (timeout or crash)",
        });
      }
      const failed = run.tests.some((t) => t.status === "FAILED");
      if (f.rc !== undefined && f.rc !== 0 && !failed && !run.unfinished) {
        problems.push(`${c.id}: exited ${f.rc} without a failed test:\n${f.stderr.slice(-2000)}`);
      }
    }
  }
  writeFileSync(
    join(dir, "result.json"),
    JSON.stringify({ ...result, kernel: { ...kernel } }, null, 2) + "\n",
  );
  return result;
}

/** "14 passed, 0 failed, 1 skipped" over one kernel's tests. */
export function counts(tests: TestOutcome[]): { passed: number; failed: number; skipped: number } {
  return {
    passed: tests.filter((t) => t.status === "ok").length,
    failed: tests.filter((t) => t.status === "FAILED").length,
    skipped: tests.filter((t) => t.status === "ignored").length,
  };
}
