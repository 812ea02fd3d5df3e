// `./kg vm`: run the observer by hand in one guest kernel of the matrix (ADR 0060).
//   ./kg vm                      list the kernels and what setup resolved
//   ./kg vm <id>                 doctor + the scenario tests (signals, births)
//   ./kg vm <id> --doctor        doctor only
//   ./kg vm <id> --test NAME     the scenario tests whose name contains NAME
//   ./kg vm <id> --shell         a shell in the guest (after --doctor/--test if given)
//   ./kg vm <id> --timeout S     kill the guest after S seconds (default 1800)
//   ./kg vm all                  the whole matrix, exactly as `./kg test` runs it
//   ./kg vm <id|all> --bench     per-BPF-program ns/event in the guest(s) and this host
// KG_LOG (e.g. libbpf=debug) passes through to the observer in the guest. Results
// are judged against expectations.ts like in `./kg test`; exit code 1 when any
// verdict is a failure.
import { existsSync, readFileSync } from "node:fs";
import { benchMain } from "./bench.ts";
import { buildTestBinaries } from "./cargo.ts";
import { runKernel, type RunOptions } from "./runner.ts";
import { kernelMatrix } from "./stage.ts";
import { lineFile, MATRIX, findLine, type ResolvedKernel } from "./matrix.ts";
import { checkExpectations, judge } from "./verdict.ts";

function usage(): never {
  const text = readFileSync(new URL(import.meta.url), "utf8");
  const lines = text
    .split("\n")
    .slice(1, 10)
    .map((l) => l.replace(/^\/\/ ?/, ""));
  console.error(lines.join("\n"));
  process.exit(2);
}

function list(): void {
  for (const l of MATRIX) {
    const f = lineFile(l.id);
    const r = existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as ResolvedKernel) : undefined;
    console.log(
      `${l.id.padEnd(6)} ${l.suite.padEnd(9)} ${r ? `${r.release}  (${r.packages[0] ?? ""})` : "not fetched: run scripts/setup.sh"}`,
    );
  }
}

async function main(argv: string[]): Promise<number> {
  if (!argv.length) {
    list();
    return 0;
  }
  const [id, ...rest] = argv;
  if (!id || id.startsWith("-")) usage();
  if (rest.length === 1 && rest[0] === "--bench") {
    if (id !== "all" && !findLine(id)) usage();
    return benchMain(id === "all" ? MATRIX.map((l) => l.id) : [id]);
  }
  if (id === "all") {
    if (rest.length) usage();
    const rows = await kernelMatrix(await buildTestBinaries());
    console.log("\n==> summary");
    for (const o of rows) {
      console.log(
        `  ${o.suite}: ${o.passed} passed, ${o.failed} failed, ${o.skipped} skipped, ${o.degradations} documented degradations`,
      );
    }
    return rows.some((o) => o.exitCode !== 0) ? 1 : 0;
  }
  const line = findLine(id);
  if (!line) {
    console.error(`unknown kernel ${id}; one of: ${MATRIX.map((l) => l.id).join(", ")}`);
    return 2;
  }
  const opts: RunOptions = { onLine: (l) => process.stdout.write(`${l}\n`) };
  let doctorOnly = false;
  let test: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--doctor") doctorOnly = true;
    else if (a === "--shell") opts.shell = true;
    else if (a === "--test") test = rest[++i] ?? usage();
    else if (a === "--timeout") opts.timeoutMs = Number(rest[++i] ?? usage()) * 1000;
    else usage();
  }
  // The terminal shows the console itself; add what the commands print.
  if (opts.shell) opts.onLine = (l, from) => from === "frames" && process.stdout.write(`${l}\n`);
  opts.doctor = test === undefined;
  opts.tests = test ?? (!doctorOnly && !opts.shell);
  if (opts.shell && !doctorOnly && test === undefined) opts.doctor = false;
  checkExpectations();
  const r = await runKernel(line.id, opts);
  const m = r.machine;
  console.log(`\n==> ${line.id}: ${r.kernel.release} (${r.kernel.suite}, cgroup v2)`);
  console.log(
    `    boot to first command ${r.bootSeconds?.toFixed(1) ?? "?"} s, whole guest ${r.seconds.toFixed(1)} s` +
      ` (TCG ${m.tcgThread}, -smp ${m.smp}, -cpu ${m.cpu}, ${m.memMiB} MiB)`,
  );
  if (r.doctor) console.log(`    doctor (exit ${String(r.doctor.rc)}): ${r.doctor.file}`);
  const v = judge(r);
  const tag = { passed: "ok", failed: "FAILED", skipped: "skipped", degradation: "degraded" };
  for (const j of v.judged) {
    const t = j.outcome;
    const took = t?.seconds === undefined ? "" : ` (${t.seconds.toFixed(0)} s)`;
    const detail = t?.target === "doctor" && t.detail ? `: ${t.detail}` : "";
    console.log(`    ${tag[j.verdict].padEnd(8)} ${j.test}${took}${j.note ? "" : detail}`);
    if (j.note) console.log(j.note.replace(/^/gm, "        | "));
  }
  console.log(
    `    ${v.passed} passed, ${v.failed} failed, ${v.skipped} skipped, ${v.degradations} documented degradations`,
  );
  if (!r.problems.length) {
    for (const l of r.kernelTrouble) console.log(`    kernel said (not counted): ${l}`);
  }
  console.log(`    files: ${r.dir}`);
  return v.failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
