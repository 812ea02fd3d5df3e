// Builds the plugin (npm run build in the workspace) when dist/ is missing or
// older than any source file, so the harness always tests the current code.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const PLUGIN_DIR = join(import.meta.dirname, "..");
export const DIST_DIR = join(PLUGIN_DIR, "dist");

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

export async function ensurePluginBuilt(log: (l: string) => void = () => undefined) {
  const built = join(DIST_DIR, "module.js");
  const stale =
    !existsSync(built) ||
    statSync(built).mtimeMs < newestSource(join(PLUGIN_DIR, "src")) ||
    statSync(built).mtimeMs < statSync(join(PLUGIN_DIR, "package.json")).mtimeMs;
  if (!stale) return;
  log("building the plugin (npm run build in src/plugin)");
  const started = Date.now();
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
    const child = spawn("npm", ["run", "build"], { cwd: PLUGIN_DIR });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("close", (c) => resolve({ code: c ?? 1, out }));
  });
  if (code !== 0) throw new Error(`plugin build failed (${code}):\n${out.slice(-3000)}`);
  log(`plugin built in ${Date.now() - started} ms`);
}
