// `kernel-gossip whispers`: the KernelWhispers the gateway serves, as a table.
import { num, type Args } from "../args.ts";
import { endpoints, needGateway } from "../endpoints.ts";
import { ago } from "../format.ts";
import { whisperRows, type Row } from "../gateway.ts";
import { table, type Column } from "../table.ts";

const s = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");

/** "ratio=0.6470588235294118 ratio" → "ratio=0.647 ratio": display only, units kept. */
const short = (text: string) =>
  text.replace(/\d+\.\d{4,}/g, (n) => String(Number(Number(n).toPrecision(3))));

export const workloadOf = (w: Row) =>
  w.pod ? [w.namespace, w.pod, w.container].map(s).filter(Boolean).join("/") : s(w.cgroup);

export function whisperColumns(now: number): Column<Row>[] {
  return [
    { header: "LAST SEEN", cell: (w) => ago(Number(w.lastSeen), now) },
    { header: "SIGNAL", cell: (w) => s(w.signal) },
    { header: "SEVERITY", cell: (w) => s(w.severity) },
    { header: "PHASE", cell: (w) => s(w.phase) },
    { header: "WORKLOAD", cell: workloadOf, flex: true },
    { header: "SEEN", cell: (w) => `${s(w.occurrences)}×` },
    { header: "KERNEL TRUTH", cell: (w) => short(s(w.kernelTruth)), flex: true },
    { header: "ACTION", cell: (w) => s(w.action) },
  ];
}

export async function whispers(a: Args): Promise<number> {
  const g = needGateway(endpoints(a));
  const lookbackMs = num(a, "since-minutes", 60) * 60_000;
  const rows = await whisperRows(g, lookbackMs);
  if (a.flags.has("json")) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (!rows.length) {
    console.log(`no whispers in the last ${lookbackMs / 60_000} min`);
    return 0;
  }
  for (const l of table(rows, whisperColumns(Date.now()), process.stdout.columns || 200)) {
    console.log(l);
  }
  return 0;
}
