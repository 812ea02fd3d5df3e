// `./kg vm`: run the observer by hand in one guest kernel of the matrix (ADR 0060).
//   ./kg vm                      list the kernels and what setup resolved
//   ./kg vm <id>                 doctor + the scenario tests (signals, births)
//   ./kg vm <id> --doctor        doctor only
//   ./kg vm <id> --test NAME     the scenario tests whose name contains NAME
//   ./kg vm <id> --shell         a shell in the guest (after --doctor/--test if given)
//   ./kg vm <id> --timeout S     kill the guest after S seconds (default 1800)
// KG_LOG (e.g. libbpf=debug) passes through to the observer in the guest.
import { existsSync, readFileSync } from "node:fs";
import { counts, runKernel, type RunOptions } from "./runner.ts";
import { lineFile, MATRIX, findLine, type ResolvedKernel } from "./matrix.ts";

function usage(): never {
  const text = readFileSync(new URL(import.meta.url), "utf8");
  const lines = text
    .split("\n")
    .slice(1, 8)
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
  if (opts.shell) opts.onLine = undefined; // the terminal shows the console itself
  opts.doctor = test === undefined;
  opts.tests = test ?? (!doctorOnly && !opts.shell);
  if (opts.shell && !doctorOnly && test === undefined) opts.doctor = false;
  const r = await runKernel(line.id, opts);
  console.log(`\n==> ${line.id}: ${r.kernel.release} (${r.kernel.suite}, cgroup v2)`);
  console.log(
    `    boot to first command ${r.bootSeconds?.toFixed(1) ?? "?"} s, whole guest ${r.seconds.toFixed(1)} s`,
  );
  if (r.doctor) console.log(`    doctor (exit ${String(r.doctor.rc)}): ${r.doctor.file}`);
  for (const t of r.tests) {
    console.log(`    ${t.status.padEnd(7)} ${t.target}::${t.name}`);
    if (t.failure) console.log(t.failure.replace(/^/gm, "        | "));
  }
  if (r.tests.length) {
    const c = counts(r.tests);
    console.log(`    ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
  }
  for (const p of r.problems) console.log(`    problem: ${p}`);
  console.log(`    files: ${r.dir}`);
  const bad = r.problems.length > 0 || r.tests.some((t) => t.status === "FAILED");
  return bad ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
