// Builds the observer's cargo integration test executables on the host and finds
// them in cargo's JSON messages (ADR 0060). The tests find the observer through
// env!("CARGO_BIN_EXE_kernel-gossip-observer") and write scratch files under
// env!("CARGO_TARGET_TMPDIR"), absolute host paths baked in at compile time, so
// the guest gets the binaries at those same paths.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";
import { CARGO_TARGET_DIR } from "../../src/local/runtime/observer.ts";

/** Test targets that run in a guest; `kubernetes` needs an API server and stays on the host. */
export const GUEST_TEST_TARGETS = ["signals", "births"];

export interface TestBinaries {
  observer: string;
  /** target name → executable */
  tests: Map<string, string>;
  /** env!("CARGO_TARGET_TMPDIR") of the tests. */
  targetTmpDir: string;
}

interface CargoMessage {
  reason?: string;
  target?: { name?: string; kind?: string[] };
  profile?: { test?: boolean };
  executable?: string | null;
}

export const cargoTargetDir = () => CARGO_TARGET_DIR;

/** `cargo test --no-run` from observer/ (so observer/.cargo/config.toml applies). */
export async function buildTestBinaries(
  log: (s: string) => void = (s) => process.stderr.write(s),
): Promise<TestBinaries> {
  // KG_VM_CARGO_RELEASE=1: release executables (a second build; for measurements).
  const release = process.env.KG_VM_CARGO_RELEASE === "1" ? ["--release"] : [];
  const child = spawn("cargo", ["test", ...release, "--no-run", "--message-format=json"], {
    cwd: join(REPO_ROOT, "observer"),
    env: { ...process.env, CARGO_TARGET_DIR: cargoTargetDir() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => log(c.toString()));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  if (code !== 0) throw new Error(`cargo test --no-run failed (exit ${code})`);
  let observer: string | undefined;
  const tests = new Map<string, string>();
  for (const line of out.split("\n")) {
    if (!line.startsWith("{")) continue;
    const m = JSON.parse(line) as CargoMessage;
    if (m.reason !== "compiler-artifact" || !m.executable || !m.target?.name) continue;
    const kind = m.target.kind ?? [];
    // The bin target comes twice: the program and its unit-test harness (profile.test).
    if (kind.includes("bin") && m.target.name === "kernel-gossip-observer" && !m.profile?.test) {
      observer = m.executable;
    }
    if (kind.includes("test") && GUEST_TEST_TARGETS.includes(m.target.name)) {
      tests.set(m.target.name, m.executable);
    }
  }
  if (!observer) throw new Error("cargo built no kernel-gossip-observer binary");
  for (const t of GUEST_TEST_TARGETS) {
    if (!tests.has(t)) throw new Error(`cargo built no test executable for ${t}`);
  }
  // <target>/debug/kernel-gossip-observer → <target>/tmp
  return { observer, tests, targetTmpDir: join(dirname(dirname(observer)), "tmp") };
}
