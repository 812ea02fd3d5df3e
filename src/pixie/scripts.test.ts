// The PxL scripts against the facts: each parses as Python (PxL's syntax),
// reads only columns that tables.json lists for its table (facts from Pixie's
// source, cited there), uses every other column only after creating it, returns
// or exports exactly what its header comment and the manifest state, and each
// named script has an export twin pushing the manifest's metrics. Pixie cannot
// run here, so this checks the scripts statically; it cannot prove that Pixie's
// compiler accepts the px.* functions they call.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadManifest, SCRIPTS_DIR, type ColumnDef } from "./manifest.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
const tables = (
  JSON.parse(readFileSync(join(HERE, "tables.json"), "utf8")) as {
    tables: Record<string, { definedIn: string; columns: Record<string, string> }>;
  }
).tables;
const manifest = loadManifest();

interface Report {
  syntaxError?: string;
  selects: { table: string | null; columns: string[] }[];
  unknown: string[];
  returns: Record<string, string[]>;
  metrics: string[];
  functions: Record<string, string[]>;
  errors: string[];
}

function analyse(file: string): Report {
  let out: string;
  try {
    out = execFileSync("python3", [join(HERE, "check_pxl.py"), join(SCRIPTS_DIR, file)], {
      encoding: "utf8",
    });
  } catch (err) {
    const e = err as { stdout?: string };
    assert.fail(`${file}: ${e.stdout ?? String(err)}`);
  }
  return JSON.parse(out) as Report;
}

/** "#   name   TYPE   description" lines after "# output:". */
function headerColumns(text: string): { name: string; type: string }[] {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => /^# output: /.test(l));
  assert.ok(at >= 0, "no '# output:' header");
  const cols: { name: string; type: string }[] = [];
  for (const l of lines.slice(at + 1)) {
    const m = /^#\s{3}(\w+)\s+([A-Z0-9]+)\s+\S/.exec(l);
    if (!m) break;
    cols.push({ name: m[1] ?? "", type: m[2] ?? "" });
  }
  return cols;
}

const plain = (cols: ColumnDef[]) => cols.map((c) => ({ name: c.name, type: c.type }));

function checkSources(file: string, r: Report) {
  assert.equal(r.syntaxError, undefined, `${file}: ${r.syntaxError ?? ""}`);
  assert.deepEqual(r.errors, [], file);
  assert.ok(r.selects.length > 0, `${file} reads no table`);
  for (const s of r.selects) {
    const t = s.table ? tables[s.table] : undefined;
    assert.ok(t, `${file}: table ${s.table ?? "?"} is not in tables.json`);
    for (const c of s.columns) {
      assert.ok(c in t.columns, `${file}: ${s.table ?? ""}.${c} is not a column (${t.definedIn})`);
    }
  }
  assert.deepEqual(r.unknown, [], `${file}: columns neither selected nor created`);
}

test("tables.json cites where Pixie defines each table", () => {
  for (const [name, t] of Object.entries(tables)) {
    assert.match(t.definedIn, /^src\/stirling\/source_connectors\/.+\.h$/, name);
    assert.ok(Object.keys(t.columns).includes("time_"), `${name} has time_`);
  }
});

test("every script file is in the manifest, and every manifest file exists", () => {
  const files = readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".pxl"));
  const named = [...manifest.values()].flatMap((s) => [
    s.file,
    ...(s.export ? [s.export.file] : []),
  ]);
  assert.deepEqual([...files].sort(), [...named].sort());
});

for (const s of manifest.values()) {
  test(`${s.name}: real columns, declared output, callable function`, () => {
    const text = readFileSync(join(SCRIPTS_DIR, s.file), "utf8");
    const r = analyse(s.file);
    checkSources(s.file, r);
    assert.deepEqual(
      r.functions[s.function],
      s.args,
      `${s.file}: ${s.function}(${s.args.join(", ")})`,
    );
    assert.deepEqual(
      r.returns[s.function],
      s.columns.map((c) => c.name),
      `${s.file} returns`,
    );
    assert.deepEqual(headerColumns(text), plain(s.columns), `${s.file} header vs manifest`);
    assert.match(text, new RegExp(`^# output: ${s.function}$`, "m"));
    for (const l of s.labels) assert.ok(s.columns.some((c) => c.name === l && c.type === "STRING"));
  });
  if (!s.export) continue;
  const ex = s.export;
  test(`${s.name}: export twin pushes the manifest's metrics through px.otel`, () => {
    const text = readFileSync(join(SCRIPTS_DIR, ex.file), "utf8");
    const r = analyse(ex.file);
    checkSources(ex.file, r);
    assert.match(text, /px\.export\(\s*df,\s*px\.otel\.Data\(/);
    assert.match(text, /px\.plugin\.start_time/);
    assert.deepEqual([...new Set(r.metrics)].sort(), ex.metrics.map((m) => m.name).sort());
    assert.deepEqual(headerColumns(text), plain(ex.columns), `${ex.file} header vs manifest`);
    // The same source table as the pull script: the twin pushes the same numbers.
    assert.deepEqual(
      r.selects.map((x) => x.table),
      analyse(s.file).selects.map((x) => x.table),
    );
  });
}

test("the checker fails a script that reads a column its table lacks", () => {
  const r = JSON.parse(
    execFileSync("python3", [join(HERE, "check_pxl.py"), "-"], {
      encoding: "utf8",
      input:
        "import px\ndf = px.DataFrame(table='network_stats', select=['time_', 'rx_dropz'])\ndf.x = df.nr_throttled\n",
    }),
  ) as Report;
  assert.deepEqual(r.selects[0]?.columns, ["time_", "rx_dropz"]);
  assert.ok(!("rx_dropz" in (tables.network_stats?.columns ?? {})));
  assert.deepEqual(r.unknown, ["nr_throttled"]);
});
