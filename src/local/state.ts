// Where a running `./kg run` can be reached, written once everything is ready so
// the terminal CLI (src/cli) finds the gateway, observer and operator without
// copying URLs and tokens by hand. The file holds bearer tokens: mode 0600, and
// removed on stop when it still describes this run (another run may own it by then).
import { readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LocalState {
  pid: number;
  startedAt: string;
  kubeconfig?: string;
  observerUrl?: string;
  operatorUrl?: string;
  prometheusUrl?: string;
  gatewayUrl?: string;
  gatewayToken?: string;
  webhookToken?: string;
}

/** KG_STATE names the file; by default one per machine in the temp dir. */
export const statePath = () => process.env.KG_STATE ?? join(tmpdir(), "kernel-gossip-local.json");

export async function writeState(state: LocalState): Promise<string> {
  const path = statePath();
  await writeFile(path, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  return path;
}

export function readState(path = statePath()): LocalState | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LocalState;
  } catch {
    return undefined;
  }
}

export async function removeState(pid: number): Promise<void> {
  const path = statePath();
  const text = await readFile(path, "utf8").catch(() => "");
  if (text && (JSON.parse(text) as LocalState).pid === pid) await rm(path, { force: true });
}
