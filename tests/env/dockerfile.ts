// A Dockerfile reader for checks without a container engine: instructions with
// continuation lines joined and comments dropped, grouped into stages.
import { readFileSync } from "node:fs";

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

export function parseDockerfile(path: string): Stage[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const stages: Stage[] = [];
  let buf = "";
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    if (!buf && (raw.trim().startsWith("#") || !raw.trim())) continue;
    if (buf && raw.trim().startsWith("#")) continue;
    if (!buf) start = i + 1;
    const cont = raw.endsWith("\\");
    buf += (buf ? " " : "") + (cont ? raw.slice(0, -1) : raw).trim();
    if (cont) continue;
    const m = /^(\S+)\s*(.*)$/.exec(buf);
    buf = "";
    if (!m) continue;
    const ins = { op: (m[1] ?? "").toUpperCase(), args: m[2] ?? "", line: start };
    if (ins.op === "FROM") {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      stages.push({ from: f?.[1] ?? "", name: f?.[2], instructions: [] });
    }
    stages.at(-1)?.instructions.push(ins);
  }
  return stages;
}

/** COPY/ADD: flags, sources and destination (JSON array form not used here). */
export function copyArgs(ins: Instruction): {
  flags: Record<string, string>;
  srcs: string[];
  dest: string;
} {
  const words = ins.args.split(/\s+/).filter(Boolean);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith("--")) {
    const [k, v] = (words.shift() ?? "").slice(2).split("=");
    flags[k ?? ""] = v ?? "";
  }
  const dest = words.pop() ?? "";
  return { flags, srcs: words, dest };
}

/** LABEL k="v" k2=v2 … */
export function labels(stage: Stage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.op === "LABEL")) {
    for (const m of ins.args.matchAll(/([\w.-]+)=("((?:[^"\\]|\\.)*)"|\S+)/g)) {
      out[m[1] ?? ""] = m[3] ?? m[2] ?? "";
    }
  }
  return out;
}

/**
 * True when a .dockerignore pattern list excludes `path` (relative, no leading ./).
 * Handles what our .dockerignore uses: names, `**` segments, `*` globs, leading `/`.
 */
export function ignored(patterns: string[], path: string): boolean {
  return patterns.some((p) => {
    const pat = p.replace(/^\//, "");
    const re = new RegExp(
      "^" +
        pat
          .split("/")
          .map((seg) =>
            seg === "**"
              ? "(?:.*/)?"
              : seg.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*") + "/",
          )
          .join("")
          .replace(/\(\?:\.\*\/\)\?$/, "")
          .replace(/\/$/, "") +
        "(?:/.*)?$",
    );
    return re.test(path);
  });
}
