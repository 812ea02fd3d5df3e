import { defineConfig } from "eslint/config";
import baseConfig from "./.config/eslint.config.mjs";

export default defineConfig([
  {
    ignores: [
      "**/logs",
      "**/*.log",
      "**/npm-debug.log*",
      "**/yarn-debug.log*",
      "**/yarn-error.log*",
      "**/.pnpm-debug.log*",
      "**/node_modules/",
      ".yarn/cache",
      ".yarn/unplugged",
      ".yarn/build-state.yml",
      ".yarn/install-state.gz",
      "**/.pnp.*",
      "**/pids",
      "**/*.pid",
      "**/*.seed",
      "**/*.pid.lock",
      "**/lib-cov",
      "**/coverage",
      "**/dist/",
      "**/artifacts/",
      "**/work/",
      "**/ci/",
      "test-results/",
      "playwright-report/",
      "blob-report/",
      "playwright/.cache/",
      "playwright/.auth/",
      "**/.idea",
      "**/.eslintcache",
      // node-side harness files are linted by the repository"s eslint config
      "harness/*.ts",
    ],
  },
  ...baseConfig,
  // Boundary (ADR 0101): the data source is its own code plus the query
  // contract it keeps in src/contract.ts; it imports nothing of the servers,
  // the shared model's generators, the CLI or the tests.
  {
    files: ["src/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              // Two levels up leaves the plugin's sources; the names are the other components.
              regex: "^\\.\\./\\.\\./|(^|/)(gateway|operator|cli|local|shared|tests|observer)/",
              message: "the plugin imports only its own code and src/contract.ts (ADR 0101)",
            },
          ],
        },
      ],
    },
  },
]);
