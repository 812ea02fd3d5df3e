// The component boundaries (ADR 0101) are lint errors: each crossing below is
// linted with the repository's own ESLint configuration (the plugin's browser
// code with the plugin workspace's) as if it were a file at that path, and
// must be reported by no-restricted-imports; the allowed imports must not be.
// `npm run lint` runs the same configuration over the tree, which passes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { ESLint, Linter } from "eslint";
import tseslint from "typescript-eslint";
import { REPO_ROOT } from "../src/local/runtime/binaries.ts";

interface Case {
  /** Where the file would live. */
  at: string;
  imports: string;
  crossed: boolean;
}

const CASES: Case[] = [
  { at: "src/shared/dashboards/x.ts", imports: "../../gateway/schemas.ts", crossed: true },
  { at: "src/shared/model/x.ts", imports: "../../operator/metrics.ts", crossed: true },
  { at: "src/shared/alerts/x.ts", imports: "../../cli/format.ts", crossed: true },
  { at: "src/shared/grafana/x.ts", imports: "../../plugin/src/request.ts", crossed: true },
  { at: "src/shared/grafana/x.ts", imports: "../../local/components.ts", crossed: true },
  { at: "src/gateway/queries/x.ts", imports: "../../operator/whispers/book.ts", crossed: true },
  { at: "src/operator/x.ts", imports: "../gateway/signals.ts", crossed: true },
  { at: "src/local/x.ts", imports: "../../tests/env/cgroup.ts", crossed: true },
  { at: "src/cli/commands/x.ts", imports: "../../../tests/support/gateway.ts", crossed: true },
  { at: "src/gateway/x.ts", imports: "../../tests/env/test-cluster.ts", crossed: true },
  // Allowed: the shared model from anywhere, the runtime from the runner and CLI, tests in tests.
  { at: "src/gateway/x.ts", imports: "../shared/signals/catalogue.ts", crossed: false },
  { at: "src/operator/x.ts", imports: "../shared/model/kernel-whisper.ts", crossed: false },
  { at: "src/cli/commands/x.ts", imports: "../../local/runtime/observer.ts", crossed: false },
  { at: "src/gateway/x.test.ts", imports: "../../tests/env/test-cluster.ts", crossed: false },
];

const restricted = (r: ESLint.LintResult) =>
  r.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);

test("each crossed boundary fails the lint; the allowed imports pass", async () => {
  // Type-aware rules need the file in the TypeScript project; the boundary rule does not.
  const eslint = new ESLint({
    cwd: REPO_ROOT,
    overrideConfig: [tseslint.configs.disableTypeChecked],
  });
  for (const c of CASES) {
    const code = `import { x } from "${c.imports}";\nexport const y = x;\n`;
    const [r] = await eslint.lintText(code, { filePath: join(REPO_ROOT, c.at) });
    assert.ok(r);
    const found = restricted(r);
    if (c.crossed) assert.equal(found.length, 1, `${c.at} importing ${c.imports}: not reported`);
    else assert.deepEqual(found, [], `${c.at} importing ${c.imports}`);
  }
});

test("the plugin imports only its own code (its workspace's configured rule)", async () => {
  const plugin = join(REPO_ROOT, "src/plugin");
  // The workspace's own ESLint resolves its config (which needs its own plugins
  // and type information for a real file); its no-restricted-imports setting is
  // then applied to each case.
  const api = (await import(
    pathToFileURL(join(plugin, "node_modules/eslint/lib/api.js")).href
  )) as { ESLint: typeof ESLint };
  const eslint = new api.ESLint({
    cwd: plugin,
    overrideConfigFile: join(plugin, "eslint.plugin.config.mjs"),
  });
  const linter = new Linter();
  const lint = async (at: string, imports: string) => {
    const config = (await eslint.calculateConfigForFile(join(plugin, at))) as {
      rules?: Record<string, Linter.RuleEntry>;
    };
    const rule = config.rules?.["no-restricted-imports"];
    assert.ok(rule, `no boundary rule for ${at}`);
    const code = `import { x } from "${imports}";\nexport const y = x;\n`;
    return linter
      .verify(
        code,
        [
          {
            files: ["**/*.ts*"],
            languageOptions: { parser: tseslint.parser },
            rules: { "no-restricted-imports": rule },
          },
        ],
        {
          filename: join(plugin, at),
        },
      )
      .map((m) => m.message);
  };
  assert.equal((await lint("src/x.ts", "../../gateway/schemas")).length, 1);
  assert.equal((await lint("src/components/x.tsx", "../../../shared/model/common")).length, 1);
  assert.equal((await lint("src/x.ts", "../../../tests/support/gateway")).length, 1);
  assert.deepEqual(await lint("src/components/x.tsx", "../contract"), []);
  assert.deepEqual(await lint("src/x.ts", "./request"), []);
});
