// docker-compose.yaml run by the real compose CLI (setup.sh builds it from the Go
// module proxy) against the test's own engine, with the stand-in override file
// (tests/fixtures/compose/standins.yaml) and the environment of a first run: none
// of the variables the compose file reads are passed through, so its defaults
// apply as they would for a user without a .env file.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineBinaries, REPO_ROOT } from "../../../src/local/runtime/binaries.ts";
import type { Engine } from "./dockerd.ts";

export const OVERRIDE = "tests/fixtures/compose/standins.yaml";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PsEntry {
  ID: string;
  Name: string;
  Service: string;
  State: string;
  Health: string;
  ExitCode: number;
}

export interface Stack {
  /**
   * `docker compose -f docker-compose.yaml [-f <files>…] -f <override> <args>`; never
   * throws on the exit code.
   */
  compose: (args: string[], opts?: { timeoutMs?: number; files?: string[] }) => Promise<RunResult>;
  ps: () => Promise<PsEntry[]>;
  /** "service X (container, state, health, exit code)" and its last log lines, for failure messages. */
  describe: (service: string, lines?: number) => Promise<string>;
  close: () => Promise<void>;
}

// Variables docker-compose.yaml reads (with defaults) and Compose's own: left unset.
const FIRST_RUN_UNSET = /^(KG_|GF_|COMPOSE_|DOCKER_)/;

export async function composeStack(
  engine: Engine,
  standInEnv: Record<string, string>,
): Promise<Stack> {
  const bin = engineBinaries().compose;
  // An empty client config: no credential helpers or contexts from this machine's ~/.docker.
  const config = await mkdtemp(join(tmpdir(), "kg-docker-config-"));
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !FIRST_RUN_UNSET.test(k))),
    ...standInEnv,
    DOCKER_HOST: engine.host,
    DOCKER_CONFIG: config,
  };
  const compose = (args: string[], opts: { timeoutMs?: number; files?: string[] } = {}) =>
    new Promise<RunResult>((resolve) => {
      const files = ["docker-compose.yaml", ...(opts.files ?? []), OVERRIDE].flatMap((f) => [
        "-f",
        f,
      ]);
      const child = spawn(bin, [...files, ...args], {
        cwd: REPO_ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs ?? 600_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr });
      });
    });
  const ps = async () => {
    const r = await compose(["ps", "--all", "--format", "json"]);
    if (r.code !== 0) throw new Error(`compose ps: ${r.stderr}`);
    return r.stdout
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as PsEntry);
  };
  const describe = async (service: string, lines = 40) => {
    const entry = (await ps().catch(() => [])).find((e) => e.Service === service);
    const state = entry
      ? `container ${entry.Name}, ${entry.State}${entry.Health ? `, ${entry.Health}` : ""}, exit code ${String(entry.ExitCode)}`
      : "no container";
    const logs = await compose(["logs", "--no-color", "--tail", String(lines), service]);
    return `service ${service} (${state}); last ${String(lines)} log lines:\n${logs.stdout}${logs.stderr}`;
  };
  return { compose, ps, describe, close: () => rm(config, { recursive: true, force: true }) };
}
