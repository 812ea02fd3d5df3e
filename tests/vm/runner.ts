// Runs the observer in one guest kernel (ADR 0060): `doctor --json` and the cargo
// scenario test executables (signals, births) with --test-threads=1, and turns
// the serial console into a per-test report: each doctor signal becomes a
// pseudo-test `doctor::<signal>` (passed when it loads), so expectations.ts can
// name a signal's degradation like a test's failure. Every file of a run goes to
// <repo>/.kg/vm/<kernel id>/ (serial.log, frames.log, timeline.log, doctor.json,
// <target>.stdout/.stderr, result.json) so a person can read what the guest said.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";
import { buildTestBinaries, GUEST_TEST_TARGETS, type TestBinaries } from "./cargo.ts";
import { boot, machineFromEnv, type GuestCommand, type Machine } from "./guest.ts";
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
  onLine?: (line: string, from: "console" | "frames") => void;
  log?: (s: string) => void;
  /** Prebuilt binaries (the matrix builds once for every kernel). */
  binaries?: TestBinaries;
  machine?: Machine;
}

export interface TargetOutcome extends TestOutcome {
  target: string;
}

export interface KernelResult {
  kernel: ResolvedKernel;
  machine: Machine;
  doctor?: { rc: number | undefined; json: unknown; file: string };
  /** Scenario tests and doctor pseudo-tests (target "doctor"). */
  tests: TargetOutcome[];
  /** Targets whose command ran to its end (every test it has is in `tests`). */
  completed: string[];
  /** True when every scenario test ran (no --test filter). */
  fullRun: boolean;
  /** What went wrong outside a test's own result: timeout, a crashed executable, … */
  problems: string[];
  /**
   * The kernel's reports of a panic, oops, lockup or RCU stall. They explain a guest
   * that died or hung (then they are also in `problems`); alone they are only shown:
   * TCG guests keep host time, so an overloaded host can make a healthy guest report
   * a stall.
   */
  kernelTrouble: string[];
  bootSeconds: number | undefined;
  seconds: number;
  dir: string;
}

/** KG_TEST_TIME_SCALE in guests (observer/tests/common/mod.rs). */
const GUEST_TIME_SCALE = "5";

/** Default guest budget by hand: TCG runs the scenario tests many times slower than the host. */
const DEFAULT_TIMEOUT_MS = Number(process.env.KG_VM_TIMEOUT_S ?? 1800) * 1000;

export async function runKernel(id: string, opts: RunOptions = {}): Promise<KernelResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const kernel = resolvedKernel(id);
  const machine = opts.machine ?? machineFromEnv();
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
  const t0 = Date.now();
  const timeline: [number, string][] = [];
  const r = await boot({
    kernel,
    layers,
    commands,
    workDir: dir,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    scratchAt: bins.targetTmpDir,
    machine,
    interactive: opts.shell,
    onLine: (line, from) => {
      if (from === "frames") timeline.push([(Date.now() - t0) / 1000, line]);
      opts.onLine?.(line, from);
    },
  });
  writeFileSync(
    join(dir, "timeline.log"),
    timeline.map(([t, l]) => `${t.toFixed(1).padStart(7)} ${l}`).join("\n") + "\n",
  );
  const problems: string[] = [];
  if (r.timedOut) problems.push(`timed out after ${r.seconds.toFixed(0)} s (KG_VM_TIMEOUT_S)`);
  if (r.qemuFailure) problems.push(r.qemuFailure);
  const scratch = r.frames.get("scratch");
  if (scratch && scratch.rc !== 0) {
    problems.push(
      `scratch disk not mounted at ${bins.targetTmpDir} (rc ${String(scratch.rc)}): ${scratch.stdout}${scratch.stderr}`.trim(),
    );
  }
  const result: KernelResult = {
    kernel,
    machine,
    tests: [],
    completed: [],
    fullRun: typeof opts.tests !== "string",
    problems,
    kernelTrouble: kernelTrouble(r.serial),
    bootSeconds: r.bootSeconds,
    seconds: r.seconds,
    dir,
  };
  const took = testSeconds(timeline);
  for (const c of commands) {
    const f = r.frames.get(c.id);
    if (!f) {
      problems.push(
        `${c.id}: never started in the guest (see ${join(dir, "serial.log")}, the console)`,
      );
      continue;
    }
    writeFileSync(join(dir, `${c.id}.stdout`), f.stdout);
    writeFileSync(join(dir, `${c.id}.stderr`), f.stderr);
    if (f.rc === undefined) problems.push(`${c.id}: the guest ended before it finished`);
    else result.completed.push(c.id);
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
      const signals = doctorSignals(json);
      if (json !== undefined && !signals) problems.push("doctor: JSON without a signals list");
      result.tests.push(...(signals ?? []));
    } else if (GUEST_TEST_TARGETS.includes(c.id)) {
      const run = parseLibtest(f.stdout);
      for (const t of run.tests)
        result.tests.push({ ...t, target: c.id, seconds: took.get(t.name) });
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
  // panic=-1 with -no-reboot: a panic ends QEMU with exit 0, and this is its only trace.
  if (problems.length) problems.push(...result.kernelTrouble.map((l) => `kernel: ${l}`));
  writeFileSync(
    join(dir, "result.json"),
    JSON.stringify({ ...result, kernel: { ...kernel } }, null, 2) + "\n",
  );
  return result;
}

/** The kernel's own reports of a crash or a hang, first of each kind. */
export function kernelTrouble(serial: string): string[] {
  const kinds = [
    /Kernel panic - not syncing.*/,
    /BUG: soft lockup.*/,
    /rcu: INFO: rcu_\w+ (self-)?detected stalls?.*/,
    /INFO: task .* blocked for more than .*/,
    /BUG: unable to handle .*/,
    /Oops: .*/,
  ];
  const out: string[] = [];
  for (const k of kinds) {
    const m = k.exec(serial);
    if (m) out.push(m[0].trim());
  }
  return out;
}

/** doctor --json's `signals` as pseudo-tests: `doctor::<signal>`, passed when it loads. */
function doctorSignals(json: unknown): TargetOutcome[] | undefined {
  const signals = (json as { signals?: unknown } | undefined)?.signals;
  if (!Array.isArray(signals)) return undefined;
  return signals.map((raw) => {
    const s = raw as { name?: unknown; ok?: unknown; detail?: unknown };
    const detail = typeof s.detail === "string" ? s.detail : "";
    return {
      target: "doctor",
      name: String(s.name),
      status: s.ok === true ? "ok" : "FAILED",
      detail,
      failure: s.ok === true ? undefined : detail,
    };
  });
}

/**
 * Each test's host seconds, from the serial lines' arrival times: libtest with one
 * thread prints `test <name> ... <result>` as the test ends, so a test took from the
 * previous such line (or its executable's start) to its own.
 */
function testSeconds(timeline: [number, string][]): Map<string, number> {
  const out = new Map<string, number>();
  let last: number | undefined;
  for (const [t, line] of timeline) {
    if (/@@KG@@\S+ BEGIN /.test(line)) last = t;
    const m = /^test (\S+) \.\.\. /.exec(line);
    if (m?.[1] && last !== undefined) {
      out.set(m[1], t - last);
      last = t;
    }
  }
  return out;
}
