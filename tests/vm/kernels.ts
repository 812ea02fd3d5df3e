// Fetches the matrix's kernels from Debian's archive (ADR 0060). Each line gets a
// private apt directory (its own sources list, lists and package cache), so the
// machine's own sources stay untouched; "newest in the suite" is what the suite's
// `linux-image-cloud-amd64` meta package points at when setup runs. The extracted
// kernel is cached under <VM_CACHE>/kernels/<package>_<version>/ and published by
// renaming a finished temp dir, so a half-done download is never trusted.
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { MATRIX, VM_CACHE, lineFile, type KernelLine, type ResolvedKernel } from "./matrix.ts";

/** Re-ask the archive what "newest" is at most this often (hours); 0 = always. */
const REFRESH_HOURS = Number(process.env.KG_VM_REFRESH_HOURS ?? 12);

const log = (s: string) => process.stderr.write(`vm kernels: ${s}\n`);

function aptDir(line: KernelLine): string {
  return join(VM_CACHE, "apt", line.id);
}

function aptOptions(line: KernelLine): string[] {
  const d = aptDir(line);
  const opts: Record<string, string> = {
    "Dir::Etc::sourcelist": join(d, "sources.list"),
    // Empty dirs: ignore the host's sources.list.d and pins.
    "Dir::Etc::sourceparts": join(d, "empty"),
    "Dir::Etc::preferencesparts": join(d, "empty"),
    "Dir::State::lists": join(d, "lists"),
    "Dir::Cache": join(d, "cache"),
    "Acquire::Languages": "none",
    // Only Packages indexes: no appstream (DEP-11) or Contents downloads.
    "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled": "false",
    "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled": "false",
    "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled": "false",
    "APT::Sandbox::User": "root",
  };
  return Object.entries(opts).flatMap(([k, v]) => ["-o", `${k}=${v}`]);
}

const apt = (line: KernelLine, cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, [...aptOptions(line), ...args], {
    encoding: "utf8",
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });

/**
 * apt-get update for this line when its lists are older than REFRESH_HOURS.
 * Returns false when the lists are the ones an earlier resolution used.
 */
function refreshLists(line: KernelLine): boolean {
  const d = aptDir(line);
  for (const sub of ["lists/partial", "cache/archives/partial", "empty"]) {
    mkdirSync(join(d, sub), { recursive: true });
  }
  const sources = line.sources.join("\n") + "\n";
  const srcFile = join(d, "sources.list");
  const stamp = join(d, "updated");
  const changed = !existsSync(srcFile) || readFileSync(srcFile, "utf8") !== sources;
  if (changed) writeFileSync(srcFile, sources);
  const ageH = existsSync(stamp) ? (Date.now() - statSync(stamp).mtimeMs) / 3.6e6 : Infinity;
  if (!changed && ageH < REFRESH_HOURS) return false;
  log(`${line.id}: apt-get update (${line.sources.length} sources, ${line.suite})`);
  try {
    apt(line, "apt-get", ["-q", "update"]);
    writeFileSync(stamp, new Date().toISOString() + "\n");
    return true;
  } catch (e) {
    // Offline with lists from an earlier run: keep using what they resolved.
    if (existsSync(stamp) && !changed) {
      log(
        `${line.id}: apt-get update failed, using lists from ${readFileSync(stamp, "utf8").trim()}`,
      );
      return false;
    }
    throw new Error(`apt-get update for ${line.suite} failed`, { cause: e });
  }
}

/** `apt-cache show`'s fields of the candidate version, or undefined if unknown. */
function show(line: KernelLine, pkg: string): Record<string, string> | undefined {
  let out: string;
  try {
    out = apt(line, "apt-cache", ["show", "--no-all-versions", pkg]);
  } catch {
    return undefined;
  }
  const fields: Record<string, string> = {};
  for (const m of out.matchAll(/^([A-Za-z-]+): (.*)$/gm)) {
    if (m[1] && m[2] !== undefined && !(m[1] in fields)) fields[m[1]] = m[2];
  }
  return fields.Version ? fields : undefined;
}

const depNames = (depends: string | undefined) =>
  (depends ?? "")
    .split(",")
    .flatMap((alt) => alt.split("|"))
    .map((d) => d.trim().split(/\s/)[0] ?? "")
    .filter(Boolean);

interface Plan {
  release: string;
  /** [name, version] of every package to download. */
  packages: [string, string][];
}

/**
 * The meta package → the versioned image package (+ its split parts on sid).
 * Returns the plans to try in order: the image the meta package installs (what a
 * Debian user boots), then its `-unsigned` twin (the same kernel without the
 * Secure Boot signature; some mirrors serve only one of them).
 */
function plans(line: KernelLine): Plan[] {
  const meta = show(line, "linux-image-cloud-amd64");
  if (!meta) throw new Error(`${line.suite}: no linux-image-cloud-amd64 in its Packages`);
  const image = depNames(meta.Depends).find((d) => /^linux-image-\d.*-cloud-amd64$/.test(d));
  if (!image) throw new Error(`${line.suite}: linux-image-cloud-amd64 depends on no kernel`);
  const release = image.replace(/^linux-image-/, "");
  if (!release.startsWith(line.release)) {
    throw new Error(`${line.suite}: newest cloud kernel is ${release}, not ${line.release}*`);
  }
  const out: Plan[] = [];
  for (const name of [image, `${image}-unsigned`]) {
    const fields = show(line, name);
    if (!fields?.Version) continue;
    const packages: [string, string][] = [[name, fields.Version]];
    // sid splits the image: vmlinuz in linux-binary-*, modules in linux-modules-*,
    // config and modules.builtin in linux-base-*.
    for (const dep of depNames(fields.Depends)) {
      if (new RegExp(`^linux-(binary|modules|base)-${escape(release)}$`).test(dep)) {
        const v = show(line, dep)?.Version;
        if (!v) throw new Error(`${line.suite}: ${dep} not in its Packages`);
        packages.push([dep, v]);
      }
    }
    out.push({ release, packages });
  }
  if (!out.length) throw new Error(`${line.suite}: ${image} not in its Packages`);
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function findFile(root: string, names: RegExp): string | undefined {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && names.test(join(e.parentPath, e.name)))
    .map((e) => join(e.parentPath, e.name))[0];
}

/** Downloads and extracts one kernel into its cache dir (no-op when cached). */
function fetchKernel(line: KernelLine, p: Plan): string {
  const [main, version] = p.packages[0] ?? ["", ""];
  const dest = join(VM_CACHE, "kernels", `${main}_${version}`);
  if (existsSync(join(dest, ".complete"))) return dest;
  const tmp = `${dest}.partial.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "debs"), { recursive: true });
  const t0 = Date.now();
  log(`${line.id}: downloading ${p.packages.map(([n, v]) => `${n}=${v}`).join(" ")}`);
  try {
    apt(
      line,
      "apt-get",
      ["-q", "download", ...p.packages.map(([n, v]) => `${n}=${v}`)],
      join(tmp, "debs"),
    );
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const x = join(tmp, "x");
  for (const deb of readdirSync(join(tmp, "debs"))) {
    execFileSync("dpkg-deb", ["-x", join(tmp, "debs", deb), x]);
  }
  // bullseye/bookworm/trixie: /boot/vmlinuz-<rel>, /lib/modules/<rel>;
  // sid (usr-merged, split): /usr/lib/modules/<rel>/{vmlinuz,config}.
  const modules = [join(x, "lib/modules", p.release), join(x, "usr/lib/modules", p.release)].find(
    existsSync,
  );
  const vmlinuz = [join(x, "boot", `vmlinuz-${p.release}`), join(modules ?? x, "vmlinuz")].find(
    existsSync,
  );
  const config = [join(x, "boot", `config-${p.release}`), join(modules ?? x, "config")].find(
    existsSync,
  );
  if (!modules || !vmlinuz || !config) {
    throw new Error(
      `${line.id}: ${main} lacks ${!modules ? "modules" : !vmlinuz ? "vmlinuz" : "config"} (found ${findFile(x, /vmlinuz/) ?? "no vmlinuz"})`,
    );
  }
  renameSync(vmlinuz, join(tmp, "vmlinuz"));
  renameSync(config, join(tmp, "config"));
  renameSync(modules, join(tmp, "modules"));
  rmSync(x, { recursive: true, force: true });
  rmSync(join(tmp, "debs"), { recursive: true, force: true });
  writeFileSync(
    join(tmp, "kernel.json"),
    JSON.stringify({ release: p.release, packages: p.packages.map(([n, v]) => `${n}=${v}`) }) +
      "\n",
  );
  writeFileSync(join(tmp, ".complete"), "");
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  log(`${line.id}: ${p.release} cached at ${dest} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return dest;
}

function writeAtomic(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Resolves and fetches one line; returns what the runner boots. */
export function ensureKernel(line: KernelLine): ResolvedKernel {
  const updated = refreshLists(line);
  // Same lists as the last resolution: the answer is the same (apt-cache on sid's
  // lists costs seconds per query).
  if (!updated && existsSync(lineFile(line.id))) {
    const last = JSON.parse(readFileSync(lineFile(line.id), "utf8")) as ResolvedKernel;
    if (existsSync(join(last.dir, ".complete"))) return last;
  }
  const candidates = plans(line);
  let chosen: [Plan, string] | undefined;
  const errors: string[] = [];
  for (const p of candidates) {
    try {
      chosen = [p, fetchKernel(line, p)];
      break;
    } catch (e) {
      const err = e as { stderr?: string; message?: string };
      errors.push((err.stderr ?? err.message ?? String(e)).trim());
      log(`${line.id}: ${p.packages[0]?.[0] ?? "?"}: ${errors.at(-1) ?? ""}`);
    }
  }
  if (!chosen)
    throw new Error(`${line.id}: no kernel package could be fetched:\n${errors.join("\n")}`);
  const [p, dir] = chosen;
  const resolved: ResolvedKernel = {
    id: line.id,
    suite: line.suite,
    release: p.release,
    packages: p.packages.map(([n, v]) => `${n}=${v}`),
    dir,
    resolvedAt: new Date().toISOString(),
  };
  writeAtomic(lineFile(line.id), JSON.stringify(resolved, null, 2) + "\n");
  return resolved;
}

/** Why the last fetch of a line failed (setup goes on; the matrix fails that kernel). */
const errorFile = (id: string) => join(VM_CACHE, "lines", `${id}.error`);

/** What setup resolved for a line, or a message naming the cause and the fix. */
export function resolvedKernel(id: string): ResolvedKernel {
  const f = lineFile(id);
  const failed = existsSync(errorFile(id))
    ? `: setup could not fetch it: ${readFileSync(errorFile(id), "utf8").trim()}`
    : ": run scripts/setup.sh";
  if (!existsSync(f)) throw new Error(`kernel ${id} not fetched${failed}`);
  const r = JSON.parse(readFileSync(f, "utf8")) as ResolvedKernel;
  if (!existsSync(join(r.dir, ".complete")))
    throw new Error(`kernel ${id}: ${r.dir} is gone${failed}`);
  return r;
}

// CLI for scripts/setup.sh: fetch every line (or the ids given). With --keep-going a
// line that cannot be fetched is logged and recorded (lines/<id>.error) and the others
// still are: `./kg test` then fails that kernel, naming why, instead of running nothing.
if (import.meta.url === `file://${process.argv[1] ?? ""}`) {
  const args = process.argv.slice(2);
  const keepGoing = args.includes("--keep-going");
  const ids = args.filter((a) => a !== "--keep-going");
  const lines = ids.length ? MATRIX.filter((l) => ids.includes(l.id)) : MATRIX;
  let failures = 0;
  for (const line of lines) {
    try {
      const r = ensureKernel(line);
      rmSync(errorFile(line.id), { force: true });
      log(`${line.id} (${line.suite}): ${r.release} at ${r.dir}`);
    } catch (e) {
      failures++;
      const msg = (e as Error).message;
      writeAtomic(errorFile(line.id), `${msg}\n`);
      log(`${line.id} (${line.suite}): FAILED: ${msg}`);
    }
  }
  if (failures && !keepGoing) process.exitCode = 1;
}
