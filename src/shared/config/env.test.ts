// The shared configuration reader (ADR 0102) and the two services' parsers on
// top of it: one form per kind of value, errors naming the variable, old names
// still read with a warning, the same KG_OBSERVER_URLS parse in both services.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../gateway/config.ts";
import { loadConfig } from "../../operator/config.ts";
import { ConfigError, envReader, formatDuration, parseDuration, type Env } from "./env.ts";

const reader = (env: Env) => {
  const warnings: string[] = [];
  return {
    r: envReader(
      env,
      (m) => warnings.push(m),
      () => "file-secret\n",
    ),
    warnings,
  };
};
const throwsNaming = (fn: () => unknown, variable: string) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.variable, variable);
    assert.ok(err.message.startsWith(`${variable}: `), err.message);
    return true;
  });

test("durations: Go-style strings only, errors name the variable", () => {
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("5 minutes"), undefined);
  assert.equal(parseDuration("1500"), undefined);
  assert.equal(formatDuration(300_000), "5m");
  assert.equal(formatDuration(1_500), "1500ms");
  const { r } = reader({ KG_A: "2m", KG_B: "2000", KG_C: "10ms" });
  assert.equal(r.duration("KG_A", 1), 120_000);
  assert.equal(r.duration("KG_UNSET", 42), 42);
  throwsNaming(() => r.duration("KG_B", 1), "KG_B");
  throwsNaming(() => r.duration("KG_C", 1, { min: 100 }), "KG_C");
});

test("an old integer-milliseconds name still works, with a warning naming the new one", () => {
  const { r, warnings } = reader({ KG_X_MS: "1500" });
  assert.equal(r.duration("KG_X", 1, { legacyMs: "KG_X_MS" }), 1500);
  assert.match(warnings.join("\n"), /KG_X_MS is deprecated.*set KG_X instead/);
  const both = reader({ KG_X: "2s", KG_X_MS: "1500" });
  assert.equal(both.r.duration("KG_X", 1, { legacyMs: "KG_X_MS" }), 2000);
  assert.deepEqual(both.warnings, []);
  throwsNaming(
    () => reader({ KG_X_MS: "2s" }).r.duration("KG_X", 1, { legacyMs: "KG_X_MS" }),
    "KG_X_MS",
  );
});

test("booleans are strict: true/false/1/0", () => {
  const { r } = reader({ A: "true", B: "0", C: "1", D: "no", E: "" });
  assert.equal(r.bool("A", false), true);
  assert.equal(r.bool("B", true), false);
  assert.equal(r.bool("C", false), true);
  assert.equal(r.bool("E", true), true);
  throwsNaming(() => r.bool("D", true), "D");
});

test("lists, secrets from VAR_FILE, URLs, kubeconfig and log level", () => {
  const { r } = reader({
    L: "a, b\nc,,",
    S_FILE: "/run/secret",
    S2: "inline",
    U: "http://x:1/",
    BAD: "ftp://x",
    KUBECONFIG: "/k",
    KG_LOG: "libbpf=debug",
  });
  assert.deepEqual(r.list("L"), ["a", "b", "c"]);
  assert.equal(r.secret("S"), "file-secret");
  assert.equal(r.secret("S2"), "inline");
  assert.equal(r.url("U"), "http://x:1");
  throwsNaming(() => r.url("BAD"), "BAD");
  assert.equal(r.kubeconfig(), "/k");
  assert.equal(reader({ KG_KUBECONFIG: "/kg", KUBECONFIG: "/k" }).r.kubeconfig(), "/kg");
  assert.equal(r.logLevel(), "info", "a filter in KG_LOG is the observer's");
  assert.equal(reader({ KG_LOG: "debug" }).r.logLevel(), "debug");
  throwsNaming(() => reader({ KG_LOG_LEVEL: "loud" }).r.logLevel(), "KG_LOG_LEVEL");
});

test("gateway and operator parse KG_OBSERVER_URLS the same way", () => {
  const urls = "n1=http://10.0.0.1:9464/, http://10.0.0.2:9464";
  const gw = parseConfig({ KG_GATEWAY_AUTH: "none", KG_OBSERVER_URLS: urls }, () => undefined);
  const op = loadConfig({ KG_OBSERVER_URLS: urls });
  assert.deepEqual(
    gw.observers.map((o) => o.url),
    op.observers.urls,
  );
  assert.deepEqual(gw.observers[0], { node: "n1", url: "http://10.0.0.1:9464" });
  throwsNaming(
    () => parseConfig({ KG_GATEWAY_AUTH: "none", KG_OBSERVER_URLS: "x y" }),
    "KG_OBSERVER_URLS",
  );
  throwsNaming(() => loadConfig({ KG_OBSERVER_URLS: "not a url" }), "KG_OBSERVER_URLS");
});

test("gateway: new duration names, old ones with a warning, strict errors", () => {
  const warnings: string[] = [];
  const c = parseConfig(
    {
      KG_GATEWAY_AUTH: "none",
      KG_SCRAPE_INTERVAL: "30s",
      KG_OBSERVER_SCRAPE_MS: "250",
      KG_BODY_LIMIT: "2048",
      KG_KUBECONFIG: "/kube",
    },
    (m) => warnings.push(m),
  );
  assert.equal(c.scrapeIntervalMs, 30_000);
  assert.equal(c.observerScrapeMs, 250);
  assert.equal(c.limits.bodyLimit, 2048);
  assert.equal(c.kubeconfig, "/kube");
  assert.equal(warnings.length, 2, warnings.join("\n"));
  throwsNaming(
    () =>
      parseConfig({
        KG_GATEWAY_AUTH: "none",
        KG_PIXIE_ADDRESS: "vizier:51400",
        KG_PIXIE_API_KEY: "k",
        KG_PIXIE_CLUSTER_ID: "c",
        KG_PIXIE_TLS: "yes",
      }),
    "KG_PIXIE_TLS",
  );
  throwsNaming(
    () => parseConfig({ KG_GATEWAY_AUTH: "none", KG_SCRAPE_INTERVAL: "15000" }),
    "KG_SCRAPE_INTERVAL",
  );
  throwsNaming(() => parseConfig({}), "KG_GATEWAY_TOKENS");
});

test("operator: strict booleans and durations name the variable", () => {
  assert.equal(loadConfig({ KG_LEADER_ELECTION: "0" }).leaderElection.enabled, false);
  assert.equal(loadConfig({ KG_BIRTHS: "false" }).births.enabled, false);
  throwsNaming(() => loadConfig({ KG_LEADER_ELECTION: "nope" }), "KG_LEADER_ELECTION");
  throwsNaming(() => loadConfig({ KG_QUIET_PERIOD: "120" }), "KG_QUIET_PERIOD");
  throwsNaming(() => loadConfig({ KG_ACTIONS: "maybe" }), "KG_ACTIONS");
  assert.equal(loadConfig({ KUBECONFIG: "/k" }).kubeconfig, "/k");
  assert.equal(
    loadConfig({ KG_WEBHOOK_TOKEN_FILE: "/s" }, () => "from-file\n").webhooks.auth.token,
    "from-file",
  );
});
