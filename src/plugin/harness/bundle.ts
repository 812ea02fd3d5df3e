// Bundles a harness page (page/entry.tsx, or the dashboard renderer's
// page/dashboard/entry.tsx, with the real @grafana/*, React and rxjs) for the
// browser with esbuild. Only the harness pages are bundled this way; the
// plugin itself is the webpack build in dist/.
import { build, type Plugin } from "esbuild";
import { join } from "node:path";

export const HARNESS_DIR = import.meta.dirname;

/**
 * @grafana/* ESM builds are .mjs files, for which esbuild applies Node's rule
 * that a default import of a CommonJS module is its whole module.exports; their
 * dependencies (e.g. react-custom-scrollbars-2) expect the bundler convention
 * (exports.default). Grafana's own bundle uses the CommonJS builds, so do we.
 */
const grafanaCommonJs: Plugin = {
  name: "grafana-commonjs",
  setup(b) {
    // Subpaths too (@grafana/ui/unstable, @grafana/schema's panel configs), so every
    // module comes from the same CommonJS build and React contexts exist once.
    b.onResolve({ filter: /^@grafana\/[\w-]+(\/.+)?$/ }, async (args) => {
      if (args.pluginData === "grafana-commonjs") return undefined;
      return b.resolve(args.path, {
        kind: "require-call",
        resolveDir: args.resolveDir,
        pluginData: "grafana-commonjs",
      });
    });
  },
};

export async function bundleHarnessPage(entry = "page/entry.tsx"): Promise<string> {
  const result = await build({
    entryPoints: [join(HARNESS_DIR, entry)],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "chrome120",
    write: false,
    jsx: "automatic",
    define: {
      "process.env.NODE_ENV": process.env.KG_HARNESS_DEV ? '"development"' : '"production"',
      global: "globalThis",
    },
    // @grafana/ui pulls in icons, fonts and stylesheets the harness does not need.
    loader: {
      ".svg": "text",
      ".woff": "empty",
      ".woff2": "empty",
      ".ttf": "empty",
      ".png": "empty",
      ".css": "empty",
    },
    plugins: [grafanaCommonJs],
    logLevel: "error",
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error("esbuild produced no output for the harness page");
  return out.text;
}
