// The whole test run behind `./kg test`: static checks, then every suite
// against one shared real control plane, then the kernel matrix (the observer's
// doctor and scenario tests in QEMU guests, tests/vm, ADR 0060), then one closing
// summary line ("tests: N passed, N failed, N skipped") that counts what actually ran.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { CARGO_TARGET_DIR } from "../src/local/runtime/observer.ts";
import { startCluster, type Cluster } from "../src/local/runtime/cluster.ts";
import { buildTestBinaries, type TestBinaries } from "./vm/cargo.ts";
import { hostKernel, kernelMatrix } from "./vm/stage.ts";

interface Outcome {
  suite: string;
  passed: number;
  failed: number;
  skipped: number;
  /** Documented degradations (tests/vm/expectations.ts): neither passed nor failed. */
  degradations?: number;
  exitCode: number;
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd = REPO_ROOT,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    console.log(`\n$ ${cmd} ${args.join(" ")}`);
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env } });
    let out = "";
    const pipe = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
      out += chunk.toString();
      to.write(chunk);
    };
    child.stdout.on("data", pipe(process.stdout));
    child.stderr.on("data", pipe(process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

function findTests(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".test.ts"))
    .map((e) => relative(REPO_ROOT, join(e.parentPath, e.name)))
    .filter((p) => !p.includes("node_modules"))
    .sort();
}

const count = (out: string, re: RegExp) =>
  [...out.matchAll(re)].reduce((n, m) => n + Number(m[1] ?? 0), 0);

async function checks(): Promise<Outcome> {
  const steps: [string, string[]][] = [
    ["npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]],
    ["npx", ["eslint", "."]],
    ["npx", ["prettier", "--check", "."]],
    ["npx", ["tsx", "src/shared/crds/generate.ts", "--check"]],
  ];
  if (existsSync(join(REPO_ROOT, "observer/Cargo.toml"))) {
    steps.push(["cargo", ["fmt", "--", "--check"]]);
    steps.push(["cargo", ["clippy", "--all-targets", "--", "-D", "warnings"]]);
  }
  let passed = 0;
  let failed = 0;
  for (const [cmd, args] of steps) {
    // cargo runs from observer/ so observer/.cargo/config.toml applies.
    const cwd = cmd === "cargo" ? join(REPO_ROOT, "observer") : REPO_ROOT;
    const r = await run(cmd, args, { CARGO_TARGET_DIR }, cwd);
    if (r.code === 0) passed++;
    else failed++;
  }
  return { suite: "checks", passed, failed, skipped: 0, exitCode: failed ? 1 : 0 };
}

// --- Grafana plugin workspace (src/plugin): its own tsc/eslint config, jest suite and build.
const PLUGIN_DIR = join(REPO_ROOT, "src/plugin");

async function pluginSuite(): Promise<Outcome | undefined> {
  if (!existsSync(join(PLUGIN_DIR, "package.json"))) return undefined;
  const steps: [string, string[]][] = [
    ["npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]],
    ["npm", ["run", "lint"]],
    ["npm", ["run", "build"]],
  ];
  let passed = 0;
  let failed = 0;
  for (const [cmd, args] of steps) {
    if ((await run(cmd, args, {}, PLUGIN_DIR)).code === 0) passed++;
    else failed++;
  }
  // Jest's summary: "Tests:       1 failed, 2 skipped, 29 passed, 32 total".
  const r = await run("npx", ["jest", "--ci", "--maxWorkers=2"], {}, PLUGIN_DIR);
  const summary = /^Tests:\s+(.*)$/m.exec(r.out)?.[1] ?? "";
  const n = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(summary)?.[1] ?? 0);
  passed += n("passed");
  failed += n("failed");
  if (r.code !== 0 && n("failed") === 0) failed++; // a suite that did not run is a failure too
  return {
    suite: "plugin (src/plugin: tsc, eslint, build, jest)",
    passed,
    failed,
    skipped: n("skipped") + n("todo"),
    exitCode: failed ? 1 : 0,
  };
}

// Files whose run can outlast the 5-minute limit on a cold machine, each test in them
// carrying its own timeout: the engine test builds three images and the stand-ins
// (about 6 minutes cold, 2.5 warm). They run after the others, with a 30-minute limit.
const LONG_FILES = new Set(["tests/compose-engine.test.ts"]);

async function nodeTests(env: NodeJS.ProcessEnv): Promise<Outcome> {
  const files = [...findTests(join(REPO_ROOT, "src")), ...findTests(join(REPO_ROOT, "tests"))];
  const nodeTest = (timeoutMs: number, only: string[]) =>
    run(
      process.execPath,
      [
        "--import",
        "tsx",
        "--test",
        "--test-reporter=spec",
        "--test-concurrency=1",
        // A test file whose work is done must not hold the run open (a stray socket or
        // timer), and no file may run longer than its limit.
        "--test-force-exit",
        `--test-timeout=${String(timeoutMs)}`,
        ...only,
      ],
      env,
    );
  const runs = [
    await nodeTest(
      300_000,
      files.filter((f) => !LONG_FILES.has(f)),
    ),
  ];
  const long = files.filter((f) => LONG_FILES.has(f));
  if (long.length) runs.push(await nodeTest(1_800_000, long));
  const sum = (re: RegExp) => runs.reduce((n, r) => n + count(r.out, re), 0);
  return {
    suite: `typescript (${files.length} files)`,
    passed: sum(/^ℹ pass (\d+)$/gm),
    failed: sum(/^ℹ fail (\d+)$/gm) + sum(/^ℹ cancelled (\d+)$/gm),
    skipped: sum(/^ℹ skipped (\d+)$/gm) + sum(/^ℹ todo (\d+)$/gm),
    exitCode: runs.find((r) => r.code !== 0)?.code ?? 0,
  };
}

async function cargoTests(env: NodeJS.ProcessEnv): Promise<Outcome | undefined> {
  if (!existsSync(join(REPO_ROOT, "observer/Cargo.toml"))) return undefined;
  // --no-fail-fast: a failing unit test must not hide the scenario suites after it.
  const r = await run(
    "cargo",
    ["test", "--no-fail-fast"],
    { ...env, CARGO_TARGET_DIR },
    join(REPO_ROOT, "observer"),
  );
  const results = /test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/g;
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const m of r.out.matchAll(results)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    skipped += Number(m[3]);
  }
  if (r.code !== 0 && failed === 0) failed = 1; // a build failure is a failure too
  return { suite: `rust (observer, ${hostKernel()})`, passed, failed, skipped, exitCode: r.code };
}

async function main(): Promise<number> {
  const outcomes: Outcome[] = [await checks()];
  const plugin = await pluginSuite();
  if (plugin) outcomes.push(plugin);
  let cluster: Cluster | undefined;
  try {
    console.log("\n==> starting the shared test control plane (etcd + kube-apiserver)");
    cluster = await startCluster({ log: (l) => console.log(`cluster: ${l}`) });
    const env = { KG_TEST_KUBECONFIG: cluster.kubeconfig };
    outcomes.push(await nodeTests(env));
    const rust = await cargoTests(env);
    if (rust) outcomes.push(rust);
  } finally {
    await cluster?.stop();
  }
  if (existsSync(join(REPO_ROOT, "observer/Cargo.toml"))) {
    // The executables `cargo test` just built and ran on this host: cargo finds them
    // fresh and builds nothing (same profile, features and environment).
    let binaries: TestBinaries | Error;
    try {
      binaries = await buildTestBinaries((s) => process.stdout.write(s));
    } catch (e) {
      binaries = e as Error;
    }
    outcomes.push(...(await kernelMatrix(binaries)));
  }

  console.log("\n==> summary");
  const degraded = (n: number | undefined) => (n ? `, ${n} documented degradations` : "");
  for (const o of outcomes) {
    console.log(
      `  ${o.suite}: ${o.passed} passed, ${o.failed} failed, ${o.skipped} skipped${degraded(o.degradations)}`,
    );
  }
  const sum = (k: "passed" | "failed" | "skipped" | "degradations") =>
    outcomes.reduce((n, o) => n + (o[k] ?? 0), 0);
  const bad = outcomes.some((o) => o.exitCode !== 0) || sum("failed") > 0;
  console.log(
    `tests: ${sum("passed")} passed, ${sum("failed")} failed, ${sum("skipped")} skipped${degraded(sum("degradations"))}`,
  );
  return bad ? 1 : 0;
}

process.exitCode = await main();
