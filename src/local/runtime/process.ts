// Child servers for tests and the local run. Each runs under
// `setpriv --pdeathsig SIGKILL`, so the kernel kills it if we die first, and
// logs to a file whose tail goes into error messages.
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync } from "node:fs";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

export function launch(bin: string, args: string[], logPath: string, env?: NodeJS.ProcessEnv) {
  const fd = openSync(logPath, "a");
  const child = spawn("setpriv", ["--pdeathsig", "SIGKILL", bin, ...args], {
    stdio: ["ignore", fd, fd],
    env: { ...process.env, ...env },
  });
  child.on("error", () => undefined);
  return child;
}

export function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(c: ChildProcess, graceMs = 10_000): Promise<void> {
  if (!alive(c)) return;
  const exited = new Promise((r) => c.once("exit", r));
  c.kill("SIGTERM");
  await Promise.race([exited, sleep(graceMs)]);
  if (alive(c)) c.kill("SIGKILL");
}

/** Polls `probe` until it holds; fails early with the log tail if the child exits. */
export async function waitFor(
  what: string,
  child: ChildProcess,
  logPath: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(child)) {
      throw new Error(
        `${what} exited (${String(child.exitCode ?? child.signalCode)}):\n${tail(logPath)}`,
      );
    }
    if (await probe().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000}s:\n${tail(logPath)}`);
}

/** True when GET url answers 2xx. */
export const httpOk = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2000) })
    .then((r) => r.ok)
    .catch(() => false);
