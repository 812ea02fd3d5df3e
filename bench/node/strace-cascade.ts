// Reads `strace -ff -ttt -y` output (one file per thread) into the cascade of a
// pod start: syscalls per actor, namespaces created, cgroup directories made and
// control files written. Independent of the observer (ptrace instead of eBPF),
// so its counts can cross-check the observer's birth events.
import { readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";

export interface CgroupWrite {
  path: string;
  value: string;
  by: string;
  t: number;
}

export interface Cascade {
  /** Syscalls per actor: "containerd", "containerd-shim-runc-v2", "runc create", "runc init", "bridge", …, "container:/bin/sh". */
  syscalls: Record<string, number>;
  namespacesCreated: Record<string, number>;
  namespaceCreators: Record<string, string[]>;
  cgroupsCreated: { path: string; by: string; t: number }[];
  cgroupWrites: CgroupWrite[];
  /** Seconds since the epoch of the first traced runtime syscall and of each entrypoint exec. */
  firstEvent: number;
  entrypointExecs: { t: number; path: string }[];
}

const RUNC_COMMANDS = new Set([
  "init",
  "create",
  "start",
  "state",
  "kill",
  "delete",
  "events",
  "exec",
  "ps",
  "update",
  "pause",
  "resume",
  "features",
]);
const SYSCALL = /^(\d+\.\d+) ([a-z_0-9]+)\((.*)$/;
const CLONE_NEW = /CLONE_NEW(NS|UTS|IPC|PID|NET|USER|CGROUP|TIME)\b/g;
const NS_NAME: Record<string, string> = {
  NS: "mnt",
  UTS: "uts",
  IPC: "ipc",
  PID: "pid",
  NET: "net",
  USER: "user",
  CGROUP: "cgroup",
  TIME: "time",
};

interface Line {
  t: number;
  name: string;
  rest: string;
}

function parseLines(text: string): Line[] {
  const out: Line[] = [];
  for (const l of text.split("\n")) {
    const m = SYSCALL.exec(l);
    if (m?.[1] && m[2] && m[3] !== undefined) out.push({ t: Number(m[1]), name: m[2], rest: m[3] });
  }
  return out;
}

/** Result of a syscall line ("= 5</path>" → "5</path>"), or "" when unfinished. */
const result = (rest: string) => /\)\s+=\s+(.*)$/.exec(rest)?.[1] ?? "";
const ok = (rest: string) => !result(rest).startsWith("-1");

/** The actor an execve turns a process into: "runc init" for runc's re-exec, else the binary. */
function execActor(rest: string, isRuntime: (bin: string) => boolean): string {
  const path = /^"([^"]*)"/.exec(rest)?.[1] ?? "?";
  const argv = /^"[^"]*", \[(.*?)\]/.exec(rest)?.[1] ?? "";
  const args = [...argv.matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? "");
  if (path === "/proc/self/exe" || basename(path) === "runc") {
    return `runc ${args.find((a) => RUNC_COMMANDS.has(a)) ?? ""}`.trim();
  }
  const bin = basename(path);
  return isRuntime(bin) ? bin : `container:${path}`;
}

/**
 * Parses every `<prefix>.<tid>` file in `dir`. `rootActor` names threads that
 * never exec'd and have no traced parent (the attached daemon's threads).
 */
export function parseCascade(
  dir: string,
  prefix: string,
  rootActor: string,
  isRuntime: (bin: string) => boolean,
  /** Count only syscalls entered within [from, to] (seconds since the epoch). */
  window: { from: number; to: number } = { from: 0, to: Infinity },
): Cascade {
  const files = readdirSync(dir).filter((f) => f.startsWith(`${prefix}.`));
  const lines = new Map<number, Line[]>();
  for (const f of files) {
    lines.set(Number(f.slice(prefix.length + 1)), parseLines(readFileSync(join(dir, f), "utf8")));
  }
  // Parent of each traced tid, from clone/fork results in the parent's file.
  const parent = new Map<number, { pid: number; t: number }>();
  for (const [pid, ls] of lines) {
    for (const l of ls) {
      if (!/^(clone3?|fork|vfork)$/.test(l.name)) continue;
      const child = Number(/^(\d+)/.exec(result(l.rest))?.[1] ?? NaN);
      if (child > 0) parent.set(child, { pid, t: l.t });
    }
  }
  // Actor of a process at time t: its own last exec before t, else its parent's at fork time.
  const startActor = new Map<number, string>();
  const actorAt = (pid: number, t: number, depth = 0): string => {
    let actor: string | undefined;
    for (const l of lines.get(pid) ?? []) {
      if (l.t > t) break;
      if (l.name === "execve" && ok(l.rest)) actor = execActor(l.rest, isRuntime);
    }
    return actor ?? inherited(pid, depth);
  };
  const inherited = (pid: number, depth: number): string => {
    const known = startActor.get(pid);
    if (known) return known;
    const p = parent.get(pid);
    const actor = p && depth < 64 ? actorAt(p.pid, p.t, depth + 1) : rootActor;
    startActor.set(pid, actor);
    return actor;
  };

  const c: Cascade = {
    syscalls: {},
    namespacesCreated: {},
    namespaceCreators: {},
    cgroupsCreated: [],
    cgroupWrites: [],
    firstEvent: Infinity,
    entrypointExecs: [],
  };
  for (const [pid, ls] of lines) {
    let actor = inherited(pid, 0);
    for (const l of ls) {
      if (l.name === "execve" && ok(l.rest)) actor = execActor(l.rest, isRuntime);
      if (l.t < window.from || l.t > window.to) continue;
      c.syscalls[actor] = (c.syscalls[actor] ?? 0) + 1;
      if (actor !== rootActor && l.t < c.firstEvent) c.firstEvent = l.t;
      if (l.name === "execve" && ok(l.rest) && actor.startsWith("container:")) {
        c.entrypointExecs.push({ t: l.t, path: actor.slice("container:".length) });
      }
      if (/^(unshare|clone3?)$/.test(l.name) && ok(l.rest)) {
        for (const m of l.rest.matchAll(CLONE_NEW)) {
          const ns = NS_NAME[m[1] ?? ""] ?? "?";
          c.namespacesCreated[ns] = (c.namespacesCreated[ns] ?? 0) + 1;
          (c.namespaceCreators[ns] ??= []).push(actor);
        }
      }
      if (/^mkdir(at)?$/.test(l.name) && ok(l.rest)) {
        const path = /"(\/sys\/fs\/cgroup\/[^"]*)"/.exec(l.rest)?.[1];
        if (path) c.cgroupsCreated.push({ path, by: actor, t: l.t });
      }
      if (l.name === "write" && ok(l.rest)) {
        const m = /^\d+<(\/sys\/fs\/cgroup\/[^>]*)>, "((?:[^"\\]|\\.)*)"/.exec(l.rest);
        if (m?.[1]) c.cgroupWrites.push({ path: m[1], value: m[2] ?? "", by: actor, t: l.t });
      }
    }
  }
  c.entrypointExecs.sort((a, b) => a.t - b.t);
  return c;
}
