// Boots one QEMU guest (TCG: KVM does not work on these machines) with a Debian
// kernel and the initramfs layers, runs framed commands through the guest init
// (guest-init.sh) and parses each command's stdout, stderr and exit code (ADR 0060).
// Two serial ports: ttyS0 is the kernel's console (and --shell's terminal), ttyS1
// carries only the frames into frames.log (read as it grows), so no kernel message
// can land inside a command's output. A host-side timeout kills a hung guest; the
// result then says so.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ResolvedKernel } from "./matrix.ts";
import { initrd, runLayer } from "./root.ts";

export interface GuestCommand {
  /** Frame id: [A-Za-z0-9_.-]+ */
  id: string;
  argv: string[];
  env?: Record<string, string>;
}

export interface Frame {
  id: string;
  stdout: string;
  stderr: string;
  /** undefined when the guest died before the command ended. */
  rc: number | undefined;
}

export interface BootResult {
  frames: Map<string, Frame>;
  /** The whole kernel console (ttyS0), \r removed. */
  serial: string;
  timedOut: boolean;
  /** QEMU's end when it was not a clean exit 0 (a signal, an error), else undefined. */
  qemuFailure: string | undefined;
  seconds: number;
  /** Seconds from QEMU's start to the first frame (kernel boot + init + module loads). */
  bootSeconds: number | undefined;
}

export interface BootOptions {
  kernel: ResolvedKernel;
  /** Cached cpio layers (root.ts), unpacked in order. */
  layers: string[];
  commands: GuestCommand[];
  /** Where this boot's initrd, scratch disk and serial log go. */
  workDir: string;
  timeoutMs: number;
  /** Mount a fresh disk-backed ext2 filesystem at this guest path (page cache, not tmpfs). */
  scratchAt?: string;
  machine?: Machine;
  /** Each line as it arrives, from the console (ttyS0) or the frames port (ttyS1). */
  onLine?: (line: string, from: "console" | "frames") => void;
  /** A shell on the console after the commands, stdin/stdout wired to this terminal. */
  interactive?: boolean;
}

/** The emulated machine; every field can be set from the environment for experiments. */
export interface Machine {
  /** vCPUs (KG_VM_SMP). */
  smp: number;
  /** Guest RAM in MiB (KG_VM_MEM_MIB). */
  memMiB: number;
  /** QEMU -cpu model (KG_VM_CPU). */
  cpu: string;
  /** TCG threading, `multi` (one host thread per vCPU) or `single` (KG_VM_TCG_THREAD). */
  tcgThread: "multi" | "single";
}

export function machineFromEnv(env: NodeJS.ProcessEnv = process.env): Machine {
  const int = (name: string, dflt: number, min: number) => {
    const v = env[name];
    if (v === undefined || v === "") return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${v}: want an integer ≥ ${min}`);
    return n;
  };
  const thread = env.KG_VM_TCG_THREAD ?? "multi";
  if (thread !== "multi" && thread !== "single") {
    throw new Error(`KG_VM_TCG_THREAD=${thread}: want multi or single`);
  }
  return {
    smp: int("KG_VM_SMP", 2, 1),
    memMiB: int("KG_VM_MEM_MIB", 2048, 512),
    cpu: env.KG_VM_CPU || "max",
    tcgThread: thread,
  };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export const KERNEL_ARGS = [
  "console=ttyS0",
  // Errors and warnings only (quiet would hide warnings): a lockup's or an oops's
  // backtrace is printed at warning level, and the serial log is all a failed run leaves.
  "loglevel=5",
  // Pure cgroup v2: no v1 hierarchy can be mounted (what a v2 Kubernetes node runs).
  "cgroup_no_v1=all",
  // PSI on whatever the kernel's default (the observer reads memory.pressure).
  "psi=1",
  // Seed the CRNG from RDRAND (TCG's -cpu max has it): getrandom() must not block.
  "random.trust_cpu=on",
  "panic=-1",
];

export function script(nonce: string, commands: GuestCommand[], opts: BootOptions): string {
  const lines = [`KG_NONCE=${nonce}`];
  // Framed like a command, so a disk that did not mount is reported, not guessed from
  // the tests that needed it.
  if (opts.scratchAt) lines.push(`kg_run scratch kg_scratch /dev/vda ${quote(opts.scratchAt)}`);
  for (const c of commands) {
    if (!/^[A-Za-z0-9_.-]+$/.test(c.id)) throw new Error(`bad command id ${c.id}`);
    // Absolute paths only: Debian's busybox sh prefers its own applets to PATH
    // (so `ip` would be busybox's, not iproute2's).
    if (!c.argv[0]?.startsWith("/")) throw new Error(`${c.id}: command must be an absolute path`);
    const run = `kg_run ${c.id} ${c.argv.map(quote).join(" ")}`;
    const env = Object.entries(c.env ?? {}).map(([k, v]) => `export ${k}=${quote(v)}; `);
    lines.push(env.length ? `(${env.join("")}${run})` : run);
  }
  if (opts.interactive) {
    lines.push(
      'echo "kg: interactive shell; exit (or Ctrl-D) powers the guest off"',
      // dash, not busybox sh: typed commands must find the host tools, not applets.
      "/bin/busybox setsid /bin/busybox cttyhack /bin/sh -l",
    );
  }
  return lines.join("\n") + "\n";
}

/** Splits the serial console into frames: BEGIN → stdout, STDERR → stderr, END → rc. */
export function parseFrames(serial: string, nonce: string): Map<string, Frame> {
  const frames = new Map<string, Frame>();
  const marker = new RegExp(`@@KG@@${nonce} (BEGIN|STDERR|END) ([A-Za-z0-9_.-]+)(?: rc=(\\d+))?`);
  let cur: Frame | undefined;
  let into: "stdout" | "stderr" = "stdout";
  for (const line of serial.split("\n")) {
    const m = marker.exec(line);
    if (!m) {
      if (cur) cur[into] += line + "\n";
      continue;
    }
    // Output that did not end in a newline shares the marker's line.
    if (cur && m.index > 0) cur[into] += line.slice(0, m.index) + "\n";
    const [, kind, id = ""] = m;
    if (kind === "BEGIN") {
      cur = { id, stdout: "", stderr: "", rc: undefined };
      into = "stdout";
      frames.set(id, cur);
    } else if (kind === "STDERR" && cur?.id === id) {
      into = "stderr";
    } else if (kind === "END" && cur?.id === id) {
      cur.rc = Number(m[3]);
      cur = undefined;
    }
  }
  return frames;
}

function scratchDisk(path: string): void {
  // ext2: mountable by every kernel in the matrix (newer ext4 defaults such as
  // orphan_file are unknown to 5.10); 2 GiB sparse.
  const r = spawnSync("mkfs.ext2", ["-q", "-F", path, "2G"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mkfs.ext2 ${path}: ${r.stderr}`);
}

export async function boot(opts: BootOptions): Promise<BootResult> {
  mkdirSync(opts.workDir, { recursive: true });
  const nonce = randomBytes(8).toString("hex");
  const run = runLayer(opts.workDir, script(nonce, opts.commands, opts));
  const rd = initrd([...opts.layers, run], join(opts.workDir, "initrd.cpio"));
  const m = opts.machine ?? machineFromEnv();
  const framesFile = join(opts.workDir, "frames.log");
  // Created here so it can be opened before QEMU has; QEMU truncates the same inode.
  writeFileSync(framesFile, "");
  const args = [
    "-accel",
    `tcg,thread=${m.tcgThread}`,
    "-cpu",
    m.cpu,
    "-m",
    String(m.memMiB),
    "-smp",
    String(m.smp),
    "-nographic",
    // ttyS0: the console on stdio (as -nographic does alone); ttyS1: the frames.
    "-serial",
    "mon:stdio",
    "-chardev",
    `file,id=kgframes,path=${framesFile}`,
    "-serial",
    "chardev:kgframes",
    "-no-reboot",
    // No NIC: the guest needs only loopback and netns veths (and skips iPXE's boot ROM).
    "-nic",
    "none",
    "-kernel",
    join(opts.kernel.dir, "vmlinuz"),
    "-initrd",
    rd,
    "-append",
    // KG_VM_APPEND adds kernel arguments for debugging (e.g. "loglevel=7").
    [...KERNEL_ARGS, process.env.KG_VM_APPEND ?? ""].join(" ").trim(),
  ];
  if (opts.scratchAt) {
    const disk = join(opts.workDir, "scratch.img");
    rmSync(disk, { force: true });
    scratchDisk(disk);
    args.push("-drive", `file=${disk},format=raw,if=virtio,cache=unsafe`);
  }
  const t0 = Date.now();
  // setpriv: the kernel kills QEMU if this process dies first.
  const child = spawn("setpriv", ["--pdeathsig", "SIGKILL", "qemu-system-x86_64", ...args], {
    stdio: [opts.interactive ? "inherit" : "ignore", "pipe", "pipe"],
  });
  let serial = "";
  let framesText = "";
  let bootSeconds: number | undefined;
  const partial = { console: "", frames: "" };
  const lines = (from: "console" | "frames", text: string) => {
    if (!opts.onLine) return;
    const ls = (partial[from] + text).split("\n");
    partial[from] = ls.pop() ?? "";
    for (const l of ls) opts.onLine(l, from);
  };
  child.stdout.on("data", (chunk: Buffer) => {
    const text = chunk.toString().replace(/\r/g, "");
    serial += text;
    if (opts.interactive) process.stdout.write(chunk);
    lines("console", text);
  });
  // QEMU's file chardev needs a path it can open (node's stdio pipes are sockets);
  // read what it appended every 200 ms.
  const framesFd = openSync(framesFile, "r");
  const chunk = Buffer.alloc(1 << 16);
  const readFrames = () => {
    for (let n; (n = readSync(framesFd, chunk, 0, chunk.length, null)) > 0;) {
      const text = chunk.subarray(0, n).toString().replace(/\r/g, "");
      if (bootSeconds === undefined) bootSeconds = (Date.now() - t0) / 1000;
      framesText += text;
      lines("frames", text);
    }
  };
  const poll = setInterval(readFrames, 200);
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const killed = { timedOut: false };
  const timer = opts.interactive
    ? undefined
    : setTimeout(() => {
        killed.timedOut = true;
        child.kill("SIGKILL");
      }, opts.timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("close", (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  clearInterval(poll);
  readFrames();
  closeSync(framesFd);
  for (const from of ["console", "frames"] as const) {
    if (partial[from]) opts.onLine?.(partial[from], from);
  }
  let qemuFailure: string | undefined;
  if (code !== 0 && !killed.timedOut) {
    qemuFailure = `QEMU ${signal ? `killed by ${signal}` : `exited ${String(code)}`}${stderr.trim() ? `: ${stderr.trim()}` : ""}`;
    serial += `\n[${qemuFailure}]\n`;
  }
  writeFileSync(join(opts.workDir, "serial.log"), serial);
  rmSync(join(opts.workDir, "scratch.img"), { force: true });
  rmSync(rd, { force: true });
  return {
    frames: parseFrames(framesText, nonce),
    serial,
    timedOut: killed.timedOut,
    qemuFailure,
    seconds: (Date.now() - t0) / 1000,
    bootSeconds,
  };
}
