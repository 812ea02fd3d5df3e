// A parser for the OpenMetrics / Prometheus text the observer serves: enough
// for sample lines (name, labels, value); metadata lines are skipped. Kept
// separate so the direct-observer source stays about storage and evaluation.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(s: string): number {
  if (s === "+Inf" || s === "Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  return Number(s);
}

/** Parses `{a="x",b="y"}` starting at `i` (at the "{"); returns labels and the index after "}". */
function parseLabels(line: string, i: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++; // "{"
  while (i < line.length && line[i] !== "}") {
    const eq = line.indexOf("=", i);
    if (eq < 0) throw new Error("label without =");
    const key = line.slice(i, eq).trim();
    i = eq + 1;
    if (line[i] !== '"') throw new Error("label value not quoted");
    i++;
    let v = "";
    while (i < line.length && line[i] !== '"') {
      const c = line[i];
      if (c === "\\") {
        const n = line[i + 1];
        v += n === "n" ? "\n" : (n ?? "");
        i += 2;
      } else {
        v += c ?? "";
        i++;
      }
    }
    i++; // closing quote
    labels[key] = v;
    if (line[i] === ",") i++;
  }
  return [labels, i + 1];
}

/** Every sample line of a scrape; malformed lines are skipped, not fatal. */
export function parseOpenMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    try {
      const brace = line.indexOf("{");
      const space = line.indexOf(" ");
      let name: string;
      let labels: Record<string, string> = {};
      let rest: string;
      if (brace >= 0 && (space < 0 || brace < space)) {
        name = line.slice(0, brace);
        let end: number;
        [labels, end] = parseLabels(line, brace);
        rest = line.slice(end).trim();
      } else {
        name = line.slice(0, space);
        rest = line.slice(space + 1).trim();
      }
      const value = parseValue(rest.split(/\s+/)[0] ?? "");
      if (name && !Number.isNaN(value)) out.push({ name, labels, value });
    } catch {
      continue;
    }
  }
  return out;
}
