// `kernel-gossip doctor`: the observer's own host check (BTF, tracefs, bpffs,
// cgroup layout, PSI, program types, every probe really loaded), then whether
// a local stack from `./kg run` answers. Exit code 0 only when both hold.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildObserver, CARGO_TARGET_DIR } from "../../local/runtime/observer.ts";
import type { Args } from "../args.ts";
import { endpoints } from "../endpoints.ts";

/** KG_OBSERVER_BIN, the image's path, a cached release or debug build, else build one. */
async function observerBinary(): Promise<string> {
  const candidates = [
    process.env.KG_OBSERVER_BIN,
    "/usr/local/bin/kernel-gossip-observer",
    join(CARGO_TARGET_DIR, "release", "kernel-gossip-observer"),
    join(CARGO_TARGET_DIR, "debug", "kernel-gossip-observer"),
  ];
  const found = candidates.find((c): c is string => !!c && existsSync(c));
  if (found) return found;
  console.error("doctor: building the observer (first build takes minutes)");
  return buildObserver(true);
}

async function reachable(name: string, url: string | undefined, path: string): Promise<boolean> {
  if (!url) {
    console.log(`  ${name.padEnd(9)} not configured`);
    return true;
  }
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(3000) }).catch(
    (e: unknown) => e as Error,
  );
  const ok = !(res instanceof Error) && res.ok;
  const why = res instanceof Error ? res.message : `HTTP ${res.status}`;
  console.log(`  ${name.padEnd(9)} ${url}${path}: ${ok ? "ok" : why}`);
  return ok;
}

export async function doctor(a: Args): Promise<number> {
  const bin = await observerBinary();
  const args = ["doctor", ...(a.flags.has("json") ? ["--json"] : [])];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(bin, args, { stdio: "inherit" });
    child.on("error", () => resolve(127));
    child.on("close", (c) => resolve(c ?? 1));
  });
  if (a.flags.has("json")) return code;
  const e = endpoints(a);
  console.log(`\nlocal stack (${e.source}):`);
  const ok = [
    await reachable("observer", e.observerUrl, "/healthz"),
    await reachable("gateway", e.gatewayUrl, "/readyz"),
  ].every(Boolean);
  return code !== 0 ? code : ok ? 0 : 1;
}
