// `kernel-gossip births`: PodBirthCertificates the gateway serves, as a table.
import { num, type Args } from "../args.ts";
import { endpoints, needGateway } from "../endpoints.ts";
import { ago, seconds } from "../format.ts";
import { birthRows, type Row } from "../gateway.ts";
import { table } from "../table.ts";

const s = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
const n = (v: unknown) => (typeof v === "number" ? v : NaN);

export async function births(a: Args): Promise<number> {
  const g = needGateway(endpoints(a));
  const lookbackMs = num(a, "since-minutes", 24 * 60) * 60_000;
  const rows = await birthRows(g, lookbackMs);
  if (a.flags.has("json")) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (!rows.length) {
    console.log(`no pod birth certificates in the last ${lookbackMs / 60_000} min`);
    return 0;
  }
  const now = Date.now();
  const lines = table<Row>(
    rows,
    [
      { header: "STARTED", cell: (b) => ago(n(b.startTime), now) },
      { header: "POD", cell: (b) => `${s(b.namespace)}/${s(b.pod)}`, flex: true },
      { header: "NODE", cell: (b) => s(b.node) },
      { header: "PHASE", cell: (b) => s(b.phase) },
      {
        header: "DURATION",
        cell: (b) => (Number.isFinite(n(b.duration)) ? seconds(n(b.duration)) : ""),
      },
      { header: "SYSCALLS", cell: (b) => s(b.syscalls) },
      { header: "NAME", cell: (b) => s(b.name), flex: true },
    ],
    process.stdout.columns || 200,
  );
  for (const l of lines) console.log(l);
  return 0;
}
