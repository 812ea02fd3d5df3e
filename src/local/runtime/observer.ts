// The real observer binary for TypeScript tests and the local run: built with
// cargo (target dir cached outside the repo), started as a child on a free
// loopback port, stopped with SIGTERM (it detaches its BPF programs cleanly).
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./binaries.ts";
import { freePort } from "./cluster.ts";
import { httpOk, launch, stopChild, waitFor } from "./process.ts";

export const CARGO_TARGET_DIR =
  process.env.CARGO_TARGET_DIR ??
  join(process.env.KG_CACHE ?? "/var/cache/kernel-gossip", "cargo-target");

export interface Observer {
  url: string;
  port: number;
  logPath: string;
  stop: () => Promise<void>;
}

export interface ObserverOptions {
  /** host:port to listen on; a free loopback port when unset. */
  listen?: string;
  nodeName?: string;
  kubeconfig?: string;
  /** Extra `run` flags, e.g. ["--sample-interval-ms", "250"]. */
  args?: string[];
  release?: boolean;
}

/** Builds the observer (a no-op when up to date) and returns the binary path. */
export async function buildObserver(release = false): Promise<string> {
  const args = ["build"];
  if (release) args.push("--release");
  const code = await new Promise<number>((resolve) => {
    // From observer/ so observer/.cargo/config.toml (static libelf path) applies.
    const child = spawn("cargo", args, {
      cwd: join(REPO_ROOT, "observer"),
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, CARGO_TARGET_DIR },
    });
    child.on("close", (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new Error(`cargo ${args.join(" ")} failed (${code})`);
  return join(CARGO_TARGET_DIR, release ? "release" : "debug", "kernel-gossip-observer");
}

export async function startObserver(opts: ObserverOptions = {}): Promise<Observer> {
  const bin = await buildObserver(opts.release);
  const listen = opts.listen ?? `127.0.0.1:${await freePort()}`;
  const port = Number(listen.slice(listen.lastIndexOf(":") + 1));
  const dir = await mkdtemp(join(tmpdir(), "kernel-gossip-observer-"));
  const logPath = join(dir, "observer.log");
  const args = ["run", "--listen", listen, "--node-name", opts.nodeName ?? "local"];
  if (opts.kubeconfig) args.push("--kubeconfig", opts.kubeconfig);
  args.push(...(opts.args ?? []));
  const child = launch(bin, args, logPath);
  const url = `http://127.0.0.1:${port}`;
  await waitFor("observer", child, logPath, 60_000, () => httpOk(`${url}/healthz`)).catch(
    async (err: unknown) => {
      await stopChild(child, 0);
      throw err;
    },
  );
  return {
    url,
    port,
    logPath,
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
