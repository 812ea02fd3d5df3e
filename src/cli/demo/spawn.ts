// Demo workloads as children that join their cgroup before they run any of
// their own code: a shell writes its pid into every cgroup.procs, then execs
// the workload. setpriv --pdeathsig kills them if the CLI dies first.
import { spawn, type ChildProcess } from "node:child_process";

export function spawnIn(
  procs: string[],
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; stdio?: "ignore" | "inherit" } = {},
): ChildProcess {
  const join = 'for f in $KG_PROCS; do echo $$ > "$f" || exit 97; done; exec "$@"';
  const child = spawn("setpriv", ["--pdeathsig", "SIGKILL", "sh", "-c", join, "sh", ...argv], {
    stdio: opts.stdio ?? "ignore",
    env: { ...process.env, ...opts.env, KG_PROCS: procs.join(" ") },
  });
  child.on("error", () => undefined);
  return child;
}

export const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => c.once("exit", () => r()));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
