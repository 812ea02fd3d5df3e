// Flat config: typescript-eslint's type-aware rules over all TypeScript,
// with prettier owning formatting (eslint-config-prettier turns style rules off).
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

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
  prettier,
);
