// The kernel-matrix stage of `./kg test` (tests/run.ts, ADR 0060): every guest
// kernel of matrix.ts runs doctor and the `signals` and `births` test executables
// that the host's own `cargo test` just built, judged against expectations.ts.
// Prints each serial line prefixed with the kernel, then per kernel what did not
// plainly pass, and returns one summary row per kernel for the closing line.
import { readFileSync } from "node:fs";
import { release } from "node:os";
import { relative } from "node:path";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";
import type { TestBinaries } from "./cargo.ts";
import { machineFromEnv } from "./guest.ts";
import { MATRIX } from "./matrix.ts";
import { runKernel, type KernelResult } from "./runner.ts";
import { checkExpectations, judge, type KernelVerdict } from "./verdict.ts";

export interface KernelRow {
  /** `kernel 6.1.0-57-cloud-amd64 (bookworm, cgroup v2)` */
  suite: string;
  passed: number;
  failed: number;
  skipped: number;
  degradations: number;
  exitCode: number;
}

/**
 * Guests at a time (KG_VM_PARALLEL). Two, each on one TCG thread (KG_VM_TCG_THREAD
 * defaults to `single` when more than one guest runs): both host cores stay busy,
 * and no guest runs its two vCPUs on two host threads at once, which once panicked
 * 6.12 ("Oops: int3" in code being live-patched). Figures: tests/vm/README.md, ADR 0060.
 */
const DEFAULT_PARALLEL = 2;
/** Per-guest budget in the matrix (KG_VM_TIMEOUT_S): a hung guest fails its kernel, not CI's clock. */
const DEFAULT_TIMEOUT_S = 900;

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${v}: want a positive integer`);
  return n;
}

/** This host's cgroup mode, as the summary names it. */
export function hostCgroupMode(mounts = readFileSync("/proc/self/mounts", "utf8")): string {
  const fs = new Map<string, string>();
  for (const line of mounts.split("\n")) {
    const [, at, type] = line.split(" ");
    if (at && type) fs.set(at, type);
  }
  if (fs.get("/sys/fs/cgroup") === "cgroup2") return "cgroup v2";
  if (fs.get("/sys/fs/cgroup/unified") === "cgroup2") return "cgroup v1 hybrid";
  return "cgroup v1";
}

/** `host 6.18.44-fc-v1252 cgroup v1 hybrid`, for the host's own rust suite line. */
export const hostKernel = () => `host ${release()} ${hostCgroupMode()}`;

const label = (r: KernelResult) => `kernel ${r.kernel.release} (${r.kernel.suite}, cgroup v2)`;

const indent = (s: string, by = "      | ") => s.replace(/\n+$/, "").replace(/^/gm, by);

function report(r: KernelResult, v: KernelVerdict): void {
  const m = r.machine;
  console.log(
    `\n==> ${label(r)}: boot ${r.bootSeconds?.toFixed(1) ?? "?"} s, guest ${r.seconds.toFixed(0)} s ` +
      `(TCG ${m.tcgThread}, -smp ${m.smp}, -cpu ${m.cpu}, ${m.memMiB} MiB); files ${relative(REPO_ROOT, r.dir)}/`,
  );
  for (const j of v.judged) {
    if (j.verdict === "passed") continue;
    const took = j.outcome?.seconds === undefined ? "" : ` (${j.outcome.seconds.toFixed(0)} s)`;
    const tag = { failed: "FAILED", skipped: "skipped", degradation: "degraded", passed: "" };
    console.log(`  ${tag[j.verdict].padEnd(8)} ${j.test}${took}`);
    if (j.note) console.log(indent(j.verdict === "failed" ? j.note.slice(-4000) : j.note));
  }
  if (!r.problems.length) {
    for (const l of r.kernelTrouble) console.log(`  kernel said (not counted): ${l}`);
  }
  const slow = r.tests
    .filter((t) => t.seconds !== undefined)
    .sort((a, b) => (b.seconds ?? 0) - (a.seconds ?? 0))
    .slice(0, 3)
    .map((t) => `${t.target}::${t.name} ${(t.seconds ?? 0).toFixed(0)} s`);
  if (slow.length) console.log(`  slowest: ${slow.join(", ")}`);
}

/** One row per kernel of the matrix; `binaries` is an Error when the host build failed. */
export async function kernelMatrix(binaries: TestBinaries | Error): Promise<KernelRow[]> {
  checkExpectations();
  const parallel = envInt("KG_VM_PARALLEL", DEFAULT_PARALLEL);
  const timeoutMs = envInt("KG_VM_TIMEOUT_S", DEFAULT_TIMEOUT_S) * 1000;
  const machine = machineFromEnv({
    KG_VM_TCG_THREAD: parallel > 1 ? "single" : "multi",
    ...process.env,
  });
  const rows = new Map<string, KernelRow>();
  const t0 = Date.now();
  console.log(
    `\n==> kernel matrix: ${MATRIX.map((l) => l.id).join(", ")} in QEMU (${parallel} at a time)`,
  );
  const one = async (id: string, suite: string) => {
    if (binaries instanceof Error) {
      console.log(`\n==> kernel ${id}: not run: ${binaries.message}`);
      rows.set(id, fail(`kernel ${id} (${suite}, not run: test executables not built)`));
      return;
    }
    let r: KernelResult;
    try {
      r = await runKernel(id, {
        doctor: true,
        tests: true,
        binaries,
        machine,
        timeoutMs,
        // Console escapes (SeaBIOS clears the screen) would garble a CI log.
        // eslint-disable-next-line no-control-regex
        onLine: (l) => console.log(`[${id}] ${l.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1bc/g, "")}`),
        log: (s) => console.log(`[${id}] ${s}`),
      });
    } catch (e) {
      console.log(`\n==> kernel ${id} (${suite}): ${(e as Error).message}`);
      rows.set(id, fail(`kernel ${id} (${suite}, did not run: ${(e as Error).message})`));
      return;
    }
    const v = judge(r);
    report(r, v);
    rows.set(id, {
      suite: label(r),
      passed: v.passed,
      failed: v.failed,
      skipped: v.skipped,
      degradations: v.degradations,
      exitCode: v.failed ? 1 : 0,
    });
  };
  const queue = [...MATRIX];
  await Promise.all(
    Array.from({ length: Math.min(parallel, queue.length) }, async () => {
      for (let l = queue.shift(); l; l = queue.shift()) await one(l.id, l.suite);
    }),
  );
  console.log(
    `\n==> kernel matrix: ${((Date.now() - t0) / 1000).toFixed(0)} s for ${MATRIX.length} kernels, ${parallel} at a time`,
  );
  return MATRIX.map((l) => rows.get(l.id) ?? fail(`kernel ${l.id} (${l.suite}, not run)`));
}

const fail = (suite: string): KernelRow => ({
  suite,
  passed: 0,
  failed: 1,
  skipped: 0,
  degradations: 0,
  exitCode: 1,
});
