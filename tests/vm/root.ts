// The guest's root filesystem, an initramfs built from this host's own binaries
// (ADR 0060): busybox-static plus exactly what the observer's scenario tests run,
// each with the libraries ldd names. Built as separately cached cpio layers that
// the kernel unpacks one after another (it accepts concatenated archives):
//   base      busybox, dash, dd, ip, iptables (+ xtables extensions), runc, bpftool,
//             the guest init — keyed by the hash of every file in it
//   modules   one kernel's modules the guest loads, decompressed, dependencies
//             first — keyed by the kernel package and the module list
//   binaries  the observer and the cargo test executables at their host paths
//             (their paths are baked in at compile time) — keyed by their hashes
//   bench     perf and bench.sh, for --bench runs only
//   run       the commands of one boot (tiny, never cached)
// so a rebuilt test binary costs one small layer, not a new root.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { VM_CACHE, type ResolvedKernel } from "./matrix.ts";

/** Bump when the layout of a layer changes without its inputs changing. */
const LAYOUT = "1";
const ROOTS = join(VM_CACHE, "roots");
const INIT = new URL("./guest-init.sh", import.meta.url).pathname;

/** Host programs the scenario tests run (observer/tests), at their host paths. */
const PROGRAMS = [
  "/usr/bin/dash", // /bin/sh, as on the host: Held::spawn and sh() run `sh -c`
  "/usr/bin/dd", // the OOM and reclaim scenarios (comm "dd" is asserted)
  "/usr/sbin/ip", // network namespaces, veth
  "/usr/sbin/xtables-nft-multi", // iptables (Debian's default backend)
  "/usr/sbin/xtables-legacy-multi", // iptables-legacy, for kernels without nf_tables
  "/usr/sbin/runc", // births.rs
  "/usr/sbin/bpftool", // prog/link listings in signals.rs and births.rs
  "/usr/bin/perl", // the stolen-CPU scenario's victim (signals.rs): sleeps 1 ms, works ~1 ms
];
/** Guest symlinks: path → target. */
const LINKS: Record<string, string> = {
  bin: "usr/bin",
  sbin: "usr/sbin",
  lib: "usr/lib",
  lib64: "usr/lib64",
  "usr/bin/sh": "dash",
  "usr/sbin/iptables": "xtables-nft-multi",
  "usr/sbin/iptables-nft": "xtables-nft-multi",
  "usr/sbin/iptables-save": "xtables-nft-multi",
  "usr/sbin/iptables-restore": "xtables-nft-multi",
  "usr/sbin/ip6tables": "xtables-nft-multi",
  "usr/sbin/iptables-legacy": "xtables-legacy-multi",
};
/** Extensions iptables dlopen()s (ldd cannot see them). */
const XTABLES = "/usr/lib/x86_64-linux-gnu/xtables";
const ETC = [
  "/etc/protocols",
  "/etc/services",
  "/etc/ethertypes",
  "/etc/nsswitch.conf",
  "/etc/ld.so.cache",
];

/**
 * Kernel modules the guest loads (cloud kernels build these as modules):
 * veth for the netns pairs; nf_tables (+ nft_compat, nft_counter and the xt matches) for
 * iptables-nft; x_tables/ip_tables/iptable_filter for iptables-legacy;
 * virtio_pci (built in from 6.12, a module before) and virtio_blk for the
 * scratch disk.
 */
export const MODULES = [
  "veth",
  "nf_tables",
  "nft_compat",
  "nft_counter", // built into nf_tables since 5.13; iptables-nft rules count packets
  "x_tables",
  "ip_tables",
  "iptable_filter",
  "xt_tcpudp",
  "xt_statistic",
  "virtio_pci",
  "virtio_blk",
];

const log = (s: string) => process.stderr.write(`vm root: ${s}\n`);

const sha = (parts: (string | Buffer)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
};

/** The guest path of a host file: its directory resolved (usr-merged), same name. */
const guestPath = (host: string) => join(realpathSync(dirname(host)), basename(host));

/** Host files a binary loads (ldd), as [host path to read, guest path]. */
function libraries(bin: string): [string, string][] {
  const r = spawnSync("ldd", [bin], { encoding: "utf8" });
  if (r.status !== 0) return []; // "not a dynamic executable": static
  const out: [string, string][] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) out.push([realpathSync(m[1]), guestPath(m[1])]);
    if (/not found/.test(line)) throw new Error(`${bin}: ${line.trim()}`);
  }
  return out;
}

/** [host, guest] pairs for programs plus everything they load, deduplicated. */
function withLibraries(programs: string[]): [string, string][] {
  const files = new Map<string, string>();
  for (const p of programs) {
    files.set(guestPath(p), realpathSync(p));
    for (const [host, guest] of libraries(p)) files.set(guest, host);
  }
  return [...files].map(([guest, host]) => [host, guest]);
}

function stage(dir: string, files: [string, string][]): void {
  for (const [host, guest] of files) {
    const to = join(dir, guest);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(host, to);
    chmodSync(to, statSync(host).mode & 0o7777);
  }
}

function link(dir: string, path: string, target: string): void {
  const at = join(dir, path);
  mkdirSync(dirname(at), { recursive: true });
  if (existsSync(at) || lstatExists(at)) unlinkSync(at);
  symlinkSync(target, at);
}

const lstatExists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** Writes dir as a newc cpio to `out` (temp file + rename). */
function cpio(dir: string, out: string): void {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(
    "sh",
    ["-c", `find . -mindepth 1 | LC_ALL=C sort | /bin/busybox cpio -o -H newc > '${tmp}'`],
    { cwd: dir, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`cpio of ${dir} failed: ${r.stderr}`);
  renameSync(tmp, out);
}

/** Builds a layer with `fill` unless `<name>-<key>.cpio` is cached. */
function layer(name: string, key: string, fill: (dir: string) => void): string {
  const out = join(ROOTS, `${name}-${key}.cpio`);
  if (existsSync(out)) return out;
  const t0 = Date.now();
  const dir = join(ROOTS, `.stage-${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    fill(dir);
    cpio(dir, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const mb = statSync(out).size / 2 ** 20;
  log(`${name}: built ${out} (${mb.toFixed(1)} MiB, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return out;
}

/** busybox, the test programs, their libraries, iptables extensions, the init. */
export function baseLayer(): string {
  for (const p of [...PROGRAMS, "/bin/busybox", XTABLES]) {
    if (!existsSync(p)) throw new Error(`${p} missing: run scripts/setup.sh (Debian packages)`);
  }
  const xt = readdirSync(XTABLES)
    .filter((f) => f.endsWith(".so"))
    .map((f) => join(XTABLES, f));
  const files = withLibraries([...PROGRAMS, ...xt]);
  files.push(["/bin/busybox", "/usr/bin/busybox"]);
  for (const e of ETC.filter(existsSync)) files.push([e, e]);
  files.sort((a, b) => a[1].localeCompare(b[1]));
  const key = sha([
    LAYOUT,
    readFileSync(INIT),
    JSON.stringify(LINKS),
    ...files.flatMap(([h, g]) => [g, readFileSync(h)]),
  ]);
  return layer("base", key, (dir) => {
    stage(dir, files);
    for (const d of ["proc", "sys", "dev", "run", "tmp", "var", "etc/kg", "kg", "root"]) {
      mkdirSync(join(dir, d), { recursive: true });
    }
    for (const [path, target] of Object.entries(LINKS)) link(dir, path, target);
    // busybox applets for everything not copied from the host.
    const applets = execFileSync("/bin/busybox", ["--list-full"], { encoding: "utf8" });
    for (const a of applets.split("\n").filter(Boolean)) {
      const path = a.replace(/^bin\//, "usr/bin/").replace(/^sbin\//, "usr/sbin/");
      if (path === "linuxrc" || lstatExists(join(dir, path))) continue;
      link(dir, path, "/usr/bin/busybox");
    }
    writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(join(dir, "etc/group"), "root:x:0:\n");
    copyFileSync(INIT, join(dir, "init"));
    chmodSync(join(dir, "init"), 0o755);
  });
}

const BENCH = new URL("./bench.sh", import.meta.url).pathname;

/**
 * `./kg vm <id> --bench` only (bench.ts): perf (for `perf bench sched pipe`) with its
 * libraries and the bench script at /kg/bench.sh. Kept out of the base layer: perf and
 * its libraries are about 35 MiB that every test boot would otherwise unpack.
 */
export function benchLayer(): string {
  if (!existsSync("/usr/bin/perf")) {
    throw new Error("/usr/bin/perf missing: run scripts/setup.sh (Debian package linux-perf)");
  }
  const files = withLibraries(["/usr/bin/perf"]);
  files.push([BENCH, "/kg/bench.sh"]);
  files.sort((a, b) => a[1].localeCompare(b[1]));
  const key = sha([LAYOUT, ...files.flatMap(([h, g]) => [g, readFileSync(h)])]);
  return layer("bench", key, (dir) => stage(dir, files));
}

/** A module's file contents, decompressed (.ko, .ko.xz, .ko.zst). */
function readModule(path: string): Buffer {
  if (path.endsWith(".xz")) return execFileSync("xz", ["-dc", path], { maxBuffer: 1 << 28 });
  if (path.endsWith(".zst")) return execFileSync("zstd", ["-dc", path], { maxBuffer: 1 << 28 });
  return readFileSync(path);
}

const modName = (file: string) =>
  basename(file)
    .replace(/\.ko(\.xz|\.zst)?$/, "")
    .replace(/-/g, "_");

/** `depends=` of a module's .modinfo. */
function dependsOf(ko: Buffer): string[] {
  const at = ko.indexOf("\0depends=");
  if (at < 0) return [];
  const end = ko.indexOf(0, at + 1);
  return ko
    .subarray(at + 9, end)
    .toString()
    .split(",")
    .filter(Boolean)
    .map((n) => n.replace(/-/g, "_"));
}

/** The modules MODULES needs from one kernel, dependencies first. */
export function modulesLayer(kernel: ResolvedKernel): string {
  const root = join(kernel.dir, "modules");
  const builtin = new Set(
    readFileSync(join(root, "modules.builtin"), "utf8").split("\n").filter(Boolean).map(modName),
  );
  const files = new Map<string, string>();
  for (const e of readdirSync(join(root, "kernel"), { recursive: true, withFileTypes: true })) {
    if (e.isFile() && /\.ko(\.xz|\.zst)?$/.test(e.name)) {
      files.set(modName(e.name), join(e.parentPath, e.name));
    }
  }
  const key = sha([LAYOUT, kernel.dir, ...MODULES]);
  return layer(`modules-${kernel.release}`, key, (dir) => {
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name) || builtin.has(name)) return;
      seen.add(name);
      const file = files.get(name);
      if (!file) {
        log(`${kernel.release}: no module ${name} (not built for this kernel), skipped`);
        return;
      }
      const ko = readModule(file);
      for (const d of dependsOf(ko)) visit(d);
      const rel = join("usr/lib/modules", kernel.release, file.slice(root.length + 1)).replace(
        /\.(xz|zst)$/,
        "",
      );
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      writeFileSync(join(dir, rel), ko);
      order.push(`/${rel}`);
    };
    for (const m of MODULES) visit(m);
    mkdirSync(join(dir, "etc/kg"), { recursive: true });
    writeFileSync(join(dir, "etc/kg/modules"), order.join("\n") + "\n");
  });
}

/** Executables at their host paths (plus libraries); debug info stripped to save guest RAM. */
export function binariesLayer(executables: string[]): string {
  const files = withLibraries(executables);
  files.sort((a, b) => a[1].localeCompare(b[1]));
  const key = sha([LAYOUT, ...files.flatMap(([h, g]) => [g, readFileSync(h)])]);
  const out = layer("binaries", key, (dir) => {
    stage(dir, files);
    for (const exe of executables) {
      const at = join(dir, guestPath(exe));
      execFileSync("strip", ["--strip-debug", at]);
    }
  });
  pruneBinaries(out);
  return out;
}

/** Test binaries change with every build: keep the newest few layers only. */
function pruneBinaries(keep: string): void {
  const old = readdirSync(ROOTS)
    .filter((f) => /^binaries-[0-9a-f]+\.cpio$/.test(f))
    .map((f) => join(ROOTS, f))
    .filter((f) => f !== keep)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const f of old.slice(4)) rmSync(f, { force: true });
}

/** One boot's commands as a cpio holding /kg/run.sh. */
export function runLayer(dir: string, script: string): string {
  const stageDir = join(dir, "run-layer");
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(join(stageDir, "kg"), { recursive: true });
  writeFileSync(join(stageDir, "kg/run.sh"), script, { mode: 0o644 });
  const out = join(dir, "run.cpio");
  cpio(stageDir, out);
  rmSync(stageDir, { recursive: true, force: true });
  return out;
}

/** Concatenates layers into one initrd file for QEMU's -initrd. */
export function initrd(layers: string[], out: string): string {
  const tmp = `${out}.tmp`;
  writeFileSync(tmp, "");
  for (const l of layers) writeFileSync(tmp, readFileSync(l), { flag: "a" });
  renameSync(tmp, out);
  return out;
}
