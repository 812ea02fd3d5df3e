// Fixed-width text tables sized to the terminal: every column gets its
// natural width until the row is too wide, then the flexible (last) column is
// cut with an ellipsis, like `kubectl get` output but never wrapping.
export interface Column<T> {
  header: string;
  cell: (row: T) => string;
  /** Cut this column first when the terminal is narrow. */
  flex?: boolean;
}

export function table<T>(rows: readonly T[], cols: readonly Column<T>[], width: number): string[] {
  const cells = rows.map((r) => cols.map((c) => c.cell(r).replace(/\s+/g, " ")));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...cells.map((r) => len(r[i]))));
  const gap = 2;
  const total = () => widths.reduce((n, w) => n + w, 0) + gap * (cols.length - 1);
  for (let i = cols.length - 1; i >= 0 && total() > width; i--) {
    if (!cols[i]?.flex) continue;
    widths[i] = Math.max(cols[i]?.header.length ?? 0, (widths[i] ?? 0) - (total() - width));
  }
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => fit(v, widths[i] ?? 0, i === vals.length - 1))
      .join(" ".repeat(gap))
      .slice(0, width);
  return [line(cols.map((c) => c.header)), ...cells.map(line)];
}

// Code points, so a µ or … counts as one column.
const len = (s: string | undefined) => Array.from(s ?? "").length;

function fit(s: string, w: number, last: boolean): string {
  const chars = Array.from(s);
  if (chars.length > w) return chars.slice(0, Math.max(0, w - 1)).join("") + "…";
  return last ? s : s + " ".repeat(w - chars.length);
}
