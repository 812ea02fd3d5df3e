// `node --import tsx tests/vm/doctor-table.ts`: the signal × kernel table of
// observer/README.md, from `kernel-gossip-observer doctor --json` as each guest
// of the kernel matrix (.kg/vm/<id>/doctor.json, written by `./kg vm <id>`) and
// this host report it. Prints Markdown; nothing in it is typed by hand.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildTestBinaries } from "./cargo.ts";
import { MATRIX } from "./matrix.ts";
import { RESULTS } from "./runner.ts";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
interface Doctor {
  kernel: { release: string };
  choices: Check[];
  checks: Check[];
  signals: Check[];
}

const SIGNALS = ["cgroups", "cpu", "runqueue", "oom", "memory", "drops", "tcp", "births"];

/** What serves a signal: the program type doctor names first ("tp_btf+sched_info"). */
function cell(d: Doctor, name: string): string {
  const s = d.signals.find((x) => x.name === name);
  if (!s) return "—";
  if (!s.ok) return `✗ ${s.detail.split(":")[0]}`;
  return s.detail.split(" ")[0] ?? "";
}

/** The degradations doctor names for this kernel (choices that are not the full feature). */
function notes(d: Doctor): string[] {
  const full = [
    "task storage",
    "from kfree_skb's reason argument",
    "device, else rx_sk",
    "tracepoint err argument",
    "tcp_send_reset, also for packets without a socket",
    "sched_switch prev_state argument",
    "mark_victim task argument",
  ];
  return d.choices
    .filter((c) => !full.some((f) => c.detail.startsWith(f)))
    .map((c) => `${c.name}: ${c.detail}`);
}

async function hostDoctor(): Promise<Doctor> {
  const bins = await buildTestBinaries();
  return JSON.parse(
    execFileSync(bins.observer, ["doctor", "--json"], {
      encoding: "utf8",
      env: { ...process.env, KG_LOG: "error" },
    }),
  ) as Doctor;
}

const columns: { title: string; doctor: Doctor }[] = [];
for (const line of MATRIX) {
  const f = join(RESULTS, line.id, "doctor.json");
  if (!existsSync(f)) {
    console.error(`no ${f}: run ./kg vm ${line.id} --doctor first`);
    process.exit(1);
  }
  const doctor = JSON.parse(readFileSync(f, "utf8")) as Doctor;
  columns.push({ title: `${doctor.kernel.release} (${line.suite}, v2)`, doctor });
}
const host = await hostDoctor();
const hybrid = host.checks.find((c) => c.name === "cgroup")?.detail.includes("hybrid");
columns.push({
  title: `${host.kernel.release} (this host, v1${hybrid ? " hybrid" : ""})`,
  doctor: host,
});

console.log(`| signal | ${columns.map((c) => c.title).join(" | ")} |`);
console.log(`| --- | ${columns.map(() => "---").join(" | ")} |`);
for (const s of SIGNALS)
  console.log(`| ${s} | ${columns.map((c) => cell(c.doctor, s)).join(" | ")} |`);
console.log();
for (const c of columns) {
  const n = notes(c.doctor);
  if (n.length) console.log(`- **${c.title}**: ${n.join("; ")}.`);
}
