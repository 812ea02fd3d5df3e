// plugin.json (source and built) against the rules of Grafana's plugin schema
// (docs/sources/developers/plugins/plugin.schema.json), written here from its
// documented facts: required fields, the id pattern, the data source flags,
// proxy routes, and what an unsigned frontend-only data source may declare.
// Grafana itself cannot run here; this is the boundary it checks at load time.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { REPO_ROOT } from "../../local/runtime/binaries.ts";
import { DIST_DIR, PLUGIN_DIR, ensurePluginBuilt } from "./build.ts";

interface Validator {
  (data: unknown): boolean;
  errors?: unknown;
}
const { Ajv } = createRequire(join(REPO_ROOT, "package.json"))("ajv") as {
  Ajv: new (opts: object) => { compile(s: object): Validator; errorsText(e?: unknown): string };
};

const ID = "^[0-9a-z]+-([0-9a-z]+-)?(app|panel|datasource|secretsmanager)$";
const template = "\\{\\{\\s*\\.(JsonData|SecureJsonData)\\.[A-Za-z0-9_]+\\s*\\}\\}";

/** The subset of Grafana's plugin schema that applies to a data source plugin. */
const PLUGIN_SCHEMA = {
  type: "object",
  required: ["type", "name", "id", "info", "dependencies"],
  properties: {
    $schema: { type: "string" },
    id: { type: "string", pattern: ID },
    type: { enum: ["app", "datasource", "panel", "renderer", "secretsmanager"] },
    name: { type: "string", minLength: 1 },
    metrics: { type: "boolean" },
    logs: { type: "boolean" },
    annotations: { type: "boolean" },
    alerting: { type: "boolean" },
    streaming: { type: "boolean" },
    tracing: { type: "boolean" },
    backend: { type: "boolean" },
    executable: { type: "string" },
    info: {
      type: "object",
      required: ["keywords", "logos", "version", "updated"],
      properties: {
        description: { type: "string" },
        author: {
          type: "object",
          properties: { name: { type: "string" }, url: { type: "string" } },
        },
        keywords: { type: "array", minItems: 1, items: { type: "string" } },
        logos: {
          type: "object",
          required: ["small", "large"],
          properties: { small: { type: "string" }, large: { type: "string" } },
        },
        links: { type: "array" },
        screenshots: { type: "array" },
        version: { type: "string" },
        updated: { type: "string" },
      },
    },
    dependencies: {
      type: "object",
      required: ["grafanaDependency"],
      properties: {
        grafanaDependency: {
          type: "string",
          // a semver range such as ">=13.2.0" or ">=12.3.0 <14"
          pattern:
            "^(<=|>=|<|>|=|~|\\^)?[0-9]+(\\.[0-9x*]+){0,2}( (<=|>=|<|=>)?[0-9]+(\\.[0-9x]+){0,2})?(-[0-9]+)?$",
        },
        plugins: { type: "array" },
      },
    },
    routes: {
      type: "array",
      items: {
        type: "object",
        required: ["path", "url"],
        additionalProperties: false,
        properties: {
          path: { type: "string" },
          method: { type: "string" },
          url: { type: "string" },
          reqSignedIn: { type: "boolean" },
          reqRole: { type: "string" },
          reqAction: { type: "string" },
          headers: {
            type: "array",
            items: {
              type: "object",
              required: ["name", "content"],
              additionalProperties: false,
              properties: { name: { type: "string" }, content: { type: "string" } },
            },
          },
          urlParams: { type: "array" },
          tokenAuth: { type: "object" },
          jwtTokenAuth: { type: "object" },
          body: { type: "object" },
        },
      },
    },
  },
};

type PluginJson = {
  id: string;
  type: string;
  backend?: boolean;
  alerting?: boolean;
  executable?: string;
  info: { version: string; updated: string; logos: { small: string; large: string } };
  dependencies: { grafanaDependency: string };
  routes?: { path: string; url: string; headers?: { name: string; content: string }[] }[];
};

const read = (path: string) => JSON.parse(readFileSync(path, "utf8")) as PluginJson;
let built: PluginJson;
const source = read(join(PLUGIN_DIR, "src/plugin.json"));

before(async () => {
  await ensurePluginBuilt((l) => console.log(`plugin.json test: ${l}`));
  built = read(join(DIST_DIR, "plugin.json"));
});

describe("plugin.json against Grafana's plugin schema rules", () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(PLUGIN_SCHEMA);

  test("source and built plugin.json validate", () => {
    for (const [name, doc] of [
      ["src/plugin.json", source],
      ["dist/plugin.json", built],
    ] as const) {
      assert.ok(validate(doc), `${name}: ${JSON.stringify(validate.errors)}`);
    }
  });

  test("the schema catches what Grafana would refuse", () => {
    assert.equal(validate({ ...built, id: "KernelGossip-datasource" }), false);
    assert.equal(validate({ ...built, id: "kernelgossip-kernel-plugin" }), false);
    const noLogo = { ...built, info: { ...built.info, logos: { small: "img/logo.svg" } } };
    assert.equal(validate(noLogo), false);
    assert.equal(validate({ ...built, dependencies: {} }), false);
  });

  test("a frontend-only data source for Grafana >= 13.2, loadable unsigned by its id", () => {
    assert.equal(built.type, "datasource");
    assert.equal(built.id, "kernelgossip-kernel-datasource");
    assert.equal(built.dependencies.grafanaDependency, ">=13.2.0");
    assert.equal(built.backend, false);
    assert.equal(built.executable, undefined);
    // Grafana-managed alerting needs a backend: alerting must not be claimed.
    assert.notEqual(built.alerting, true);
  });

  test("the build filled version and date, and ships the logos and module.js", () => {
    assert.match(built.info.version, /^\d+\.\d+\.\d+/);
    assert.match(built.info.updated, /^\d{4}-\d{2}-\d{2}$/);
    for (const f of [built.info.logos.small, built.info.logos.large, "module.js"])
      assert.ok(existsSync(join(DIST_DIR, f)), `dist/${f} missing`);
  });

  test("one proxy route: gateway URL from jsonData, bearer token only from secureJsonData", () => {
    const routes = built.routes ?? [];
    assert.equal(routes.length, 1);
    const [route] = routes;
    assert.equal(route?.path, "gateway");
    assert.equal(route.url, "{{ .JsonData.gatewayUrl }}");
    assert.deepEqual(route.headers, [
      { name: "Authorization", content: "Bearer {{ .SecureJsonData.apiToken }}" },
    ]);
    for (const text of [route.url, ...(route.headers ?? []).map((h) => h.content)]) {
      for (const m of text.matchAll(/\{\{[^}]*\}\}/g))
        assert.match(m[0], new RegExp(`^${template}$`));
    }
  });
});
