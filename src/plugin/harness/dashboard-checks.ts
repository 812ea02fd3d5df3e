// What "this panel drew its data" means, checked on a renderer report
// (dashboard-report.ts). Every problem names the dashboard and the panel's
// title, so a failing test says which panel is wrong and why:
// - the variables resolved (each has values, one is selected) and no request
//   still carries a `$variable`;
// - no query error, no render error, no error badge, no "No data" or other
//   data message, and at least one row;
// - no data the panel type cannot draw as configured (field types, a reducer
//   that selects nothing, an override that matches no field);
// - the names and values the frames define (legend entries, columns, value
//   titles, unit-formatted values) are on screen, and every drawn number has
//   a unit.
import type { DashboardReport, PanelReport } from "./dashboard-report.ts";

function panelChecks(p: PanelReport): string[] {
  const out: string[] = [];
  if (p.renderError) out.push(`render error: ${p.renderError.split("\n")[0] ?? ""}`);
  for (const e of p.errors) out.push(`query error: ${e}`);
  if (p.drawn.statusBadge) out.push("the panel shows an error badge");
  if (p.drawn.dataMessage) out.push(`the panel shows "${p.drawn.dataMessage}"`);
  out.push(...p.problems);
  if (p.sent.length === 0) out.push("no query reached a data source");
  for (const s of p.sent) {
    const left = /\$\{?\w+/.exec(s);
    if (left) out.push(`unresolved variable ${left[0]} in ${s.slice(0, 200)}`);
  }
  if (!p.frames.some((f) => f.rows > 0)) out.push("no rows in any frame");
  const shown = p.expected.names.filter((n) => p.drawn.text.includes(n));
  if (shown.length < p.expected.namesOnScreen) {
    const missing = p.expected.names.filter((n) => !shown.includes(n)).slice(0, 5);
    out.push(
      `${shown.length} of ${p.expected.names.length} names from the frames on screen, ${p.expected.namesOnScreen} needed; not shown: ${missing.map((m) => `"${m}"`).join(", ")}`,
    );
  }
  // A name inside a longer shown name ("ns/pod" in "ns/pod/app") is found on
  // screen even when its own legend row is scrolled away: its values are not
  // required then.
  const hidden = (n: string) => !shown.includes(n) || shown.some((o) => o !== n && o.includes(n));
  for (const v of p.expected.values) {
    if (v.when !== undefined && hidden(v.when)) continue;
    if (!v.anyOf.some((x) => p.drawn.text.includes(x))) {
      out.push(`${v.what}: none of ${JSON.stringify(v.anyOf.slice(0, 3))}… is on screen`);
    }
  }
  for (const u of p.expected.units) {
    if (!u.unit) out.push(`"${u.field}" is drawn without a unit`);
  }
  return out;
}

/** Every problem of a rendered dashboard, as "<dashboard> / <panel>: <problem>". */
export function dashboardProblems(r: DashboardReport): string[] {
  if (r.error) return [`${r.title || r.file}: ${r.error.split("\n")[0] ?? ""}`];
  const out: string[] = [];
  for (const v of r.variables) {
    if (v.options.length === 0) out.push(`${r.title}: variable $${v.name} has no values`);
    else if (v.current.length === 0)
      out.push(`${r.title}: variable $${v.name} has nothing selected`);
  }
  for (const p of r.panels) {
    for (const problem of panelChecks(p)) out.push(`${r.title} / ${p.title}: ${problem}`);
  }
  return out;
}
