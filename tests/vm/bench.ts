// Per-BPF-program cost on the matrix kernels (`./kg vm <id|all> --bench`, ADR 0060):
// bench.sh runs inside a guest (and, for comparison, on this host in the same
// invocation) and prints the workload's usecs/op without and with the observer and
// each program's ns/event (kernel BPF stats, ADR 0056). Under TCG every absolute
// figure is the emulator's, not the kernel's, so each program's ns/event is reported
// as a share of the baseline measured in the same guest in the same run: ns/event
// divided by the ns of one sched-pipe round trip without the observer.
import { spawnSync } from "node:child_process";
import { release } from "node:os";
import { join } from "node:path";
import { buildTestBinaries, type TestBinaries } from "./cargo.ts";
import { boot, machineFromEnv } from "./guest.ts";
import { resolvedKernel } from "./kernels.ts";
import { baseLayer, benchLayer, binariesLayer, modulesLayer } from "./root.ts";
import { RESULTS } from "./runner.ts";
import { hostCgroupMode } from "./stage.ts";

export interface ProgramCost {
  program: string;
  /** Median over the repetitions. */
  nsPerEvent: number;
  eventsPerRun: number;
}

export interface BenchResult {
  /** `6.1.0-57-cloud-amd64 (bookworm, cgroup v2, TCG)` or `host 6.18… (cgroup v1 hybrid)`. */
  where: string;
  /** usecs/op of `perf bench sched pipe` without the observer (median). */
  baseUs: number;
  /** …with the observer running with --bpf-stats (median). */
  withUs: number;
  programs: ProgramCost[];
  reps: number;
  loops: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

/** bench.sh's stdout → medians; throws when a part is missing. */
export function parseBench(out: string, where: string, loops: number, reps: number): BenchResult {
  const base: number[] = [];
  const loaded: number[] = [];
  const progs = new Map<string, { ns: number[]; ev: number[] }>();
  for (const line of out.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "base" && f[1]) base.push(Number(f[1]));
    else if (f[0] === "with" && f[1]) loaded.push(Number(f[1]));
    else if (f[0] === "prog" && f.length === 4) {
      const p = progs.get(f[1] ?? "") ?? { ns: [], ev: [] };
      p.ns.push(Number(f[2]));
      p.ev.push(Number(f[3]));
      progs.set(f[1] ?? "", p);
    }
  }
  if (!base.length || !loaded.length || base.some(isNaN) || loaded.some(isNaN)) {
    throw new Error(`bench in ${where}: no workload figures in its output:\n${out.slice(-2000)}`);
  }
  return {
    where,
    baseUs: median(base),
    withUs: median(loaded),
    programs: [...progs]
      .map(([program, p]) => ({ program, nsPerEvent: median(p.ns), eventsPerRun: median(p.ev) }))
      .sort((a, b) => a.program.localeCompare(b.program)),
    reps,
    loops,
  };
}

export interface BenchOptions {
  loops: number;
  reps: number;
  binaries: TestBinaries;
  timeoutMs: number;
  log?: (s: string) => void;
}

/** bench.sh in one guest of the matrix. */
export async function benchKernel(id: string, o: BenchOptions): Promise<BenchResult> {
  const kernel = resolvedKernel(id);
  const machine = machineFromEnv();
  const dir = join(RESULTS, `${id}-bench`);
  o.log?.(`vm ${id}: booting ${kernel.release} for the bench`);
  const r = await boot({
    kernel,
    // The same binaries layer as the tests' (cached), plus perf and the script.
    layers: [
      baseLayer(),
      modulesLayer(kernel),
      binariesLayer([o.binaries.observer, ...o.binaries.tests.values()]),
      benchLayer(),
    ],
    commands: [
      {
        id: "bench",
        argv: ["/bin/sh", "/kg/bench.sh", o.binaries.observer, String(o.loops), String(o.reps)],
      },
    ],
    workDir: dir,
    timeoutMs: o.timeoutMs,
    machine,
    onLine: (l, from) => from === "frames" && o.log?.(`[${id}] ${l}`),
  });
  const f = r.frames.get("bench");
  const where = `${kernel.release} (${kernel.suite}, cgroup v2, TCG -smp ${machine.smp})`;
  if (r.timedOut || !f || f.rc !== 0) {
    throw new Error(
      `bench in ${where}: ${r.timedOut ? "timed out" : `exit ${String(f?.rc)}`}: ${f?.stderr.slice(-2000) ?? ""} (console: ${join(dir, "serial.log")})`,
    );
  }
  return parseBench(f.stdout, where, o.loops, o.reps);
}

/** bench.sh on this host, same script, same observer executable. */
export function benchHost(o: Omit<BenchOptions, "timeoutMs">): BenchResult {
  const script = new URL("./bench.sh", import.meta.url).pathname;
  const r = spawnSync("sh", [script, o.binaries.observer, String(o.loops), String(o.reps)], {
    encoding: "utf8",
  });
  const where = `host ${release()} (${hostCgroupMode()})`;
  if (r.status !== 0) throw new Error(`bench on ${where}: exit ${String(r.status)}: ${r.stderr}`);
  return parseBench(r.stdout, where, o.loops, o.reps);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One block per place, then the ratio table across them. */
export function printBench(results: BenchResult[]): void {
  for (const b of results) {
    const slow = (b.withUs - b.baseUs) / b.baseUs;
    console.log(
      `\n==> ${b.where}: sched pipe ${b.baseUs.toFixed(2)} µs/op without the observer, ` +
        `${b.withUs.toFixed(2)} with it (${slow >= 0 ? "+" : ""}${pct(slow)}); ` +
        `medians of ${b.reps} runs of ${b.loops} round trips`,
    );
    console.log(
      `  ${"program".padEnd(24)} ${"ns/event".padStart(10)} ${"÷ baseline op".padStart(14)} ${"events/run".padStart(11)}`,
    );
    for (const p of b.programs) {
      console.log(
        `  ${p.program.padEnd(24)} ${p.nsPerEvent.toFixed(1).padStart(10)} ` +
          `${pct(p.nsPerEvent / (b.baseUs * 1000)).padStart(14)} ${String(p.eventsPerRun).padStart(11)}`,
      );
    }
  }
  const names = [...new Set(results.flatMap((b) => b.programs.map((p) => p.program)))].sort();
  console.log(
    "\n==> ns/event ÷ ns per sched-pipe round trip without the observer (same machine, same run)",
  );
  console.log(`| program | ${results.map((b) => b.where).join(" | ")} |`);
  console.log(`| --- | ${results.map(() => "---:").join(" | ")} |`);
  const row = (label: string, cell: (b: BenchResult) => string) =>
    console.log(`| ${label} | ${results.map(cell).join(" | ")} |`);
  row("baseline round trip (µs, absolute)", (b) => b.baseUs.toFixed(2));
  row("pipe slowdown with the observer", (b) => pct((b.withUs - b.baseUs) / b.baseUs));
  for (const n of names) {
    row(`\`${n}\``, (b) => {
      const p = b.programs.find((x) => x.program === n);
      return p ? pct(p.nsPerEvent / (b.baseUs * 1000)) : "–";
    });
  }
}

/** `./kg vm <ids…> --bench`: the guests one at a time, then this host. */
export async function benchMain(ids: string[]): Promise<number> {
  const binaries = await buildTestBinaries();
  const loops = Number(process.env.KG_VM_BENCH_LOOPS ?? 20000);
  const reps = Number(process.env.KG_VM_BENCH_REPS ?? 3);
  const timeoutMs = Number(process.env.KG_VM_TIMEOUT_S ?? 900) * 1000;
  const results: BenchResult[] = [];
  let failed = 0;
  for (const id of ids) {
    try {
      results.push(
        await benchKernel(id, {
          loops,
          reps,
          binaries,
          timeoutMs,
          log: (s) => console.log(s),
        }),
      );
    } catch (e) {
      console.log(`\n==> ${id}: ${(e as Error).message}`);
      failed++;
    }
  }
  // The host too, 10× the loops (it runs them 10-50× faster): its ratios are the
  // reference the guests' are read against; absolute figures never compare.
  results.push(benchHost({ loops: loops * 10, reps, binaries }));
  printBench(results);
  return failed ? 1 : 0;
}
