// Flat config: typescript-eslint's type-aware rules over all TypeScript,
// with prettier owning formatting (eslint-config-prettier turns style rules off),
// and the restricted imports that hold the component boundaries (ADR 0101).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

// Boundaries between components (ADR 0101): each crossing fails the lint.
// Production code only — tests (*.test.ts) and the plugin's node-side harness
// are integration tests that start several components and use tests/. The
// plugin's browser code has the same rule in src/plugin/eslint.plugin.config.mjs.
const zone = (dir, why) => ({ regex: `(^|/)${dir}/`, message: why });
const TESTS = zone("tests", "production code never imports tests/ (ADR 0101)");
const GATEWAY = zone("gateway", "only the gateway imports the gateway (ADR 0101)");
const OPERATOR = zone("operator", "only the operator imports the operator (ADR 0101)");
const PLUGIN = zone("plugin", "the Grafana plugin is its own workspace (ADR 0101)");
const CLI = zone("cli", "the CLI is a client; nothing imports it (ADR 0101)");
const LOCAL = zone("local", "components do not depend on the local runner (ADR 0101)");
const restrict = (...patterns) => ({ "no-restricted-imports": ["error", { patterns }] });
const production = (files, ...patterns) => ({
  files,
  ignores: ["**/*.test.ts", "src/plugin/harness/**"],
  rules: restrict(...patterns),
});
export const boundaries = [
  production(["src/**/*.ts"], TESTS),
  production(["src/shared/**/*.ts"], TESTS, GATEWAY, OPERATOR, PLUGIN, CLI, LOCAL),
  production(["src/gateway/**/*.ts"], TESTS, OPERATOR, PLUGIN, CLI, LOCAL),
  production(["src/operator/**/*.ts"], TESTS, GATEWAY, PLUGIN, CLI, LOCAL),
];

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "observer/", "**/*.generated.*"] },
  // The Grafana plugin workspace lints its browser code with its own config
  // (src/plugin/eslint.config.mjs, run by tests/run.ts); its node-side harness stays here.
  {
    ignores: [
      "src/plugin/src/",
      "src/plugin/.config/",
      "src/plugin/harness/page/",
      "src/plugin/dist/",
      "src/plugin/*.js",
      "src/plugin/*.mjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // @kubernetes/client-node declares its API models as classes but sends and
      // receives plain JSON objects: object literals are the intended use.
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
      "@typescript-eslint/no-misused-spread": [
        "error",
        {
          allow: [
            {
              from: "package",
              package: "@kubernetes/client-node",
              name: ["V1Lease", "V1LeaseSpec"],
            },
          ],
        },
      ],
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      // node:test's test()/describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["test", "describe", "it", "suite"] },
          ],
        },
      ],
    },
  },
  { files: ["**/*.js"], extends: [tseslint.configs.disableTypeChecked] },
  ...boundaries,
  prettier,
);
