// The plugin's copy of the gateway's query vocabulary (src/plugin/src/contract.ts)
// and the bodies it sends (request.ts) against the gateway's own schemas: a new
// query type, signal or filter in the gateway, or a field the gateway would
// refuse, fails here before any browser runs. The plugin's modules are loaded
// at run time by path (they belong to the plugin's TypeScript project).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createRequire } from "node:module";
import { SEVERITIES, SIGNALS } from "../../shared/model/kernel-whisper.ts";
import { FiltersSchema, QueryRequestSchema, QuerySchema } from "../../gateway/schemas.ts";
import { PLOT_SIGNALS } from "../../shared/signals/catalogue.ts";
import { REPO_ROOT } from "../../local/runtime/binaries.ts";

// The gateway's ajv (the repository's), not the older one the plugin's eslint nests here.
interface Validator {
  (data: unknown): boolean;
  errors?: unknown;
}
interface AjvLike {
  compile(schema: object): Validator;
  errorsText(errors?: unknown): string;
}
const { Ajv } = createRequire(join(REPO_ROOT, "package.json"))("ajv") as {
  Ajv: new (opts: object) => AjvLike;
};

interface Contract {
  GATEWAY_QUERY_TYPES: readonly string[];
  PLOT_SIGNALS: readonly string[];
  SIGNALS: readonly string[];
  SEVERITIES: readonly string[];
  NAME_FILTERS: readonly string[];
  PIXIE_SCRIPTS: readonly string[];
}
interface RequestModule {
  toGatewayQuery: (q: Record<string, unknown>, ctx: Record<string, unknown>) => unknown;
}

const SRC = join(import.meta.dirname, "../src");
const contract = (await import(join(SRC, "contract.ts"))) as Contract;
const request = (await import(join(SRC, "request.ts"))) as RequestModule;

const gatewayTypes = (
  QuerySchema as unknown as { oneOf: { properties: { type: { const: string } } }[] }
).oneOf.map((s) => s.properties.type.const);

describe("plugin contract = gateway schemas", () => {
  test("query types, signals, severities", () => {
    assert.deepEqual([...contract.GATEWAY_QUERY_TYPES].sort(), [...gatewayTypes].sort());
    assert.deepEqual([...contract.PLOT_SIGNALS], [...PLOT_SIGNALS]);
    assert.deepEqual([...contract.SIGNALS], [...SIGNALS]);
    assert.deepEqual([...contract.SEVERITIES], [...SEVERITIES]);
  });

  test("pixie scripts: the editor offers exactly the scripts the gateway ships", async () => {
    const manifest = JSON.parse(
      await readFile(join(REPO_ROOT, "src/pixie/scripts/manifest.json"), "utf8"),
    ) as { scripts: Record<string, unknown> };
    assert.deepEqual([...contract.PIXIE_SCRIPTS].sort(), Object.keys(manifest.scripts).sort());
    for (const name of contract.PIXIE_SCRIPTS) assert.match(name, /^[a-z0-9-]{1,64}$/);
  });

  test("filters: the plugin's name filters plus signal and severity are exactly the gateway's", () => {
    assert.deepEqual(
      [...contract.NAME_FILTERS, "signal", "severity"].sort(),
      Object.keys(FiltersSchema.properties).sort(),
    );
  });

  test("every query the editor can produce is a body the gateway accepts", () => {
    // The gateway's own ajv settings (src/gateway/server.ts): unknown fields are errors.
    const ajv = new Ajv({ discriminator: true, removeAdditional: false, strict: false });
    const valid = ajv.compile(QueryRequestSchema);
    const ctx = {
      from: 1_700_000_000_000.4,
      to: 1_700_000_900_000.6,
      intervalMs: 15_000,
      maxDataPoints: 1_000,
      explore: false,
      interpolate: (t: string) => t.replace("$ns", "shop,payments"),
    };
    const filters = {
      namespace: "$ns",
      pod: "checkout-7d9f",
      container: "app",
      node: "node-a",
      cgroup: "/kubepods/x",
      signal: ["cpu-throttling"],
      severity: ["warning"],
    };
    const queries = [
      { refId: "A", queryType: "signal", signal: "runqueue-delay", filters },
      { refId: "B", queryType: "whispers", format: "logs", filters },
      { refId: "C", queryType: "births", timeline: true, filters },
      { refId: "D", queryType: "truth-vs-metrics", filters },
      { refId: "E", queryType: "pixie", script: "service-http" },
      { refId: "F", queryType: "pixie", script: "pods", pxl: "px.display(df)" },
    ].map((q) => request.toGatewayQuery(q, ctx));
    assert.deepEqual(
      queries.map((q) => (q as { type: string }).type),
      [...gatewayTypes, "pixie"],
    );
    assert.ok(valid({ queries }), ajv.errorsText(valid.errors));
    // …and the schema is strict enough that this check can fail.
    assert.equal(valid({ queries: [{ ...(queries[0] as object), queryType: "signal" }] }), false);
  });
});
