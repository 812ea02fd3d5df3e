// The signal catalogue against its two sides (ADR 0100): the observer's own
// metric families — read from its Rust source (a static check that runs
// anywhere) and from a real observer's /metrics (root and BPF, as in CI) — and
// every TypeScript file of the repository, none of which may spell an
// observer metric name out instead of importing it from the catalogue.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT } from "../../local/runtime/binaries.ts";
import { startObserver, type Observer } from "../../local/runtime/observer.ts";
import { METRIC_PREFIX, OBSERVER_METRICS, type MetricFamily } from "./catalogue.ts";

const FAMILIES: MetricFamily[] = Object.values(OBSERVER_METRICS);
const CATALOGUE = join(REPO_ROOT, "src/shared/signals/catalogue.ts");

async function walk(dir: string, keep: (path: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!["node_modules", "dist", "target", ".git"].includes(e.name))
        out.push(...(await walk(p, keep)));
    } else if (keep(p)) out.push(p);
  }
  return out;
}

/** The family a sample or metadata name belongs to, if it is an observer family. */
export function observerFamilyOf(name: string): MetricFamily | undefined {
  const bare = name.replace(/_(total|bucket|sum|count|created)$/, "");
  return FAMILIES.find((f) => f.metadata === bare || f.family === bare || f.name === name);
}

describe("the catalogue and the observer's families", () => {
  // Static check: reads observer/src/metrics*.rs (or observer/src/metrics/),
  // the Rust source, not a running observer — the live check is below.
  test("every family name the observer's Rust source encodes is in the catalogue, and back", async () => {
    const files = await walk(join(REPO_ROOT, "observer/src"), (p) =>
      /\/metrics(\.rs$|\/.*\.rs$|_[a-z_]+\.rs$)/.test(p),
    );
    assert.ok(files.length > 0, "no observer metrics source found");
    const literals = new Set<string>();
    const suffixes = new Set<string>();
    for (const f of files) {
      const text = await readFile(f, "utf8");
      for (const m of text.matchAll(/"(kernel_gossip_[a-z0-9_]+)"/g)) literals.add(m[1] ?? "");
      // Names built from a literal, e.g. format!("{name}_syscalls").
      for (const m of text.matchAll(/format!\("\{name\}(_[a-z0-9_]+)"\)/g))
        suffixes.add(m[1] ?? "");
    }
    const spelled = (f: MetricFamily) =>
      literals.has(f.family) ||
      [...suffixes].some((s) => literals.has(f.family.slice(0, -s.length)) && f.family.endsWith(s));
    assert.deepEqual(
      FAMILIES.filter((f) => !spelled(f)).map((f) => f.family),
      [],
      "catalogue families the observer's source does not declare",
    );
    const known = (l: string) =>
      FAMILIES.some((f) => f.family === l || [...suffixes].some((s) => f.family === l + s));
    assert.deepEqual(
      [...literals].filter((l) => !known(l)),
      [],
      "observer families missing from src/shared/signals/catalogue.ts",
    );
  });

  describe("a real observer's /metrics", () => {
    let observer: Observer | undefined;
    let text = "";
    before(async () => {
      observer = await startObserver();
      // Two scrapes: some families appear after the first sampling tick.
      await fetch(`${observer.url}/metrics`);
      await new Promise((r) => setTimeout(r, 2_000));
      text = await (await fetch(`${observer.url}/metrics`)).text();
    });
    after(async () => {
      await observer?.stop();
    });

    test("every family it exports is in the catalogue, with the catalogue's type", () => {
      const exported = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)]
        .map(([, name = "", type = ""]) => ({ name, type }))
        .filter((m) => m.name.startsWith(METRIC_PREFIX));
      assert.ok(exported.length >= 5, text.slice(0, 2000));
      const wrong = exported.filter(
        (m) => !FAMILIES.some((f) => f.metadata === m.name && f.type === m.type),
      );
      assert.deepEqual(wrong, [], "exported families not in the catalogue (or another type)");
      // Families every running observer exports, whatever the machine's workloads.
      for (const f of [OBSERVER_METRICS.scrapeDuration, OBSERVER_METRICS.signalEnabled])
        assert.ok(text.includes(`# TYPE ${f.metadata} ${f.type}`), f.metadata);
    });
  });
});

test("no TypeScript outside the catalogue spells an observer metric name out", async () => {
  const files = [
    ...(await walk(join(REPO_ROOT, "src"), (p) => /\.(ts|tsx|js|mjs)$/.test(p))),
    ...(await walk(join(REPO_ROOT, "tests"), (p) => /\.(ts|js)$/.test(p))),
    ...(await walk(join(REPO_ROOT, "bench"), (p) => /\.(ts|js)$/.test(p))),
  ].filter((p) => p !== CATALOGUE);
  const found: string[] = [];
  for (const f of files) {
    const text = await readFile(f, "utf8");
    for (const [name] of text.matchAll(/\bkernel_gossip_[a-z0-9_]+\b/g)) {
      const fam = observerFamilyOf(name);
      if (fam) found.push(`${relative(REPO_ROOT, f)}: ${name} (use OBSERVER_METRICS/METRIC)`);
    }
  }
  assert.deepEqual(found, []);
});
