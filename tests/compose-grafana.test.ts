// Grafana, as Grafana would read the files in docker-compose.yaml's grafana
// service. Grafana itself cannot run here (neither its image nor its binaries can
// be had), so this builds that container's view from the compose file — its
// environment after Compose interpolation on a first run (no .env) and every path
// resolved through its mounts — and checks what Grafana's provisioning does with
// it: each provisioning file found where Grafana looks
// (/etc/grafana/provisioning/<kind>/), every `${VAR}` in them set and non-empty in
// Grafana's environment (an empty hmacConfig.secret makes Grafana's webhook sender
// refuse every notification), the dashboard provider finding all four dashboards,
// the plugin where Grafana loads plugins and allowed unsigned, the contact point
// and data source URLs naming the compose services and the ports they listen on,
// and the request the contact point sends (ADR 0047's substitute, built from this
// view) accepted by the operator configured as compose configures it.
// tests/compose-engine.test.ts checks the same view from inside a real container.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { checkAuthorization, checkSignature } from "../src/operator/alerts/auth.ts";
import { loadConfig } from "../src/operator/config.ts";
import {
  grafanaWebhookRequest,
  interpolate as grafanaExpand,
  expandEnv,
  type ProvisionedAlerting,
} from "./support/grafana/webhook-request.ts";
import { ALERT_SPECS } from "../src/shared/alerts/rules.ts";
import { DASHBOARDS } from "../src/shared/dashboards/index.ts";
import { PLUGIN_ID } from "../src/shared/grafana/contract.ts";
import { containerView, loadCompose, type Compose } from "./env/compose.ts";
import { REPO_ROOT } from "../src/local/runtime/binaries.ts";

// Paths as the grafana/grafana image sets them (GF_PATHS_PROVISIONING, GF_PATHS_PLUGINS).
const PROVISIONING_DIR = "/etc/grafana/provisioning";
const PLUGINS_DIR = "/var/lib/grafana/plugins";
// The provisioning kinds Grafana reads (pkg/services/provisioning); files: *.yaml, *.yml, *.json.
const KINDS = ["datasources", "dashboards", "alerting", "plugins", "access-control"];

const compose: Compose = loadCompose();
const grafana = containerView(compose, "grafana");

/** Host path of a file or directory inside the grafana container; fails naming the path. */
function hostPath(path: string): string {
  const r = grafana.resolve(path);
  if (r.kind !== "bind")
    assert.fail(
      `${path} in the grafana container is not in a bind mount of this repository (${r.kind})`,
    );
  return r.host;
}

/** The provisioning files Grafana finds: [container path, text]. */
function provisioningFiles(kind: string): [string, string][] {
  const dir = `${PROVISIONING_DIR}/${kind}`;
  const r = grafana.resolve(dir);
  if (r.kind !== "bind" || !existsSync(r.host)) return [];
  return readdirSync(r.host)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => [`${dir}/${f}`, readFileSync(join(r.host, f), "utf8")]);
}

const provisioned = Object.fromEntries(KINDS.map((k) => [k, provisioningFiles(k)]));
const expanded = (text: string) => expandEnv(text, grafana.env);

test("Grafana finds the shipped provisioning files where it looks for them", () => {
  for (const kind of ["datasources", "dashboards", "alerting"]) {
    const repoFiles = readdirSync(join(REPO_ROOT, "provisioning", kind)).sort();
    const seen = (provisioned[kind] ?? []).map(([p]) => p.split("/").pop());
    assert.deepEqual(seen, repoFiles, `${PROVISIONING_DIR}/${kind} in the grafana container`);
    for (const [path] of provisioned[kind] ?? []) {
      const r = grafana.resolve(path);
      assert.ok(r.kind === "bind" && r.readOnly, `${path} is not mounted read-only`);
    }
  }
});

test("every ${VAR} in the provisioning files is set and non-empty in Grafana's environment", () => {
  const refs = new Map<string, string[]>();
  for (const [path, text] of Object.values(provisioned).flat()) {
    for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
      const name = m[1] ?? "";
      refs.set(name, [...(refs.get(name) ?? []), path]);
    }
  }
  assert.ok(refs.size >= 6, `only ${[...refs.keys()].join(", ")} referenced`);
  const missing = [...refs]
    .filter(([name]) => !grafana.env[name])
    .map(([name, files]) => `${name} (${[...new Set(files)].join(", ")})`);
  assert.deepEqual(missing, [], "unset or empty in the grafana service's environment");
});

test("secrets Grafana sends are non-empty after expansion: token, HMAC secret, bearer credentials", () => {
  const [[, dsText] = ["", ""]] = provisioned.datasources ?? [];
  const ds = parse(expanded(dsText)) as {
    datasources: { type: string; secureJsonData?: Record<string, string> }[];
  };
  const plugin = ds.datasources.find((d) => d.type === PLUGIN_ID);
  assert.ok(plugin?.secureJsonData?.apiToken, "the data source's apiToken is empty");
  const alerting = parse(expanded(provisioned.alerting?.[0]?.[1] ?? "")) as ProvisionedAlerting;
  for (const cp of alerting.contactPoints) {
    for (const r of cp.receivers) {
      assert.ok(r.settings.authorization_credentials, `${cp.name}: empty credentials`);
      if (r.settings.hmacConfig)
        assert.ok(
          r.settings.hmacConfig.secret,
          `${cp.name}: hmacConfig.secret is empty — Grafana refuses to send ("secret must be provided")`,
        );
    }
  }
});

test("the dashboard provider finds all four dashboards through the mounts", () => {
  const [[path, text] = ["", ""]] = provisioned.dashboards ?? [];
  const file = parse(expanded(text)) as {
    providers: { name: string; type: string; options: { path: string } }[];
  };
  const found: string[] = [];
  for (const p of file.providers) {
    assert.equal(p.type, "file");
    const dir = hostPath(p.options.path);
    assert.ok(
      existsSync(dir) && statSync(dir).isDirectory(),
      `${path}: provider ${p.name} reads ${p.options.path}, which is ${dir} on the host: not a directory`,
    );
    // Grafana's file provider walks the folder for *.json.
    for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!f.isFile() || !f.name.endsWith(".json")) continue;
      const d = JSON.parse(readFileSync(join(f.parentPath, f.name), "utf8")) as {
        uid?: string;
        title?: string;
      };
      assert.ok(d.uid && d.title, `${f.name}: no uid or title`);
      found.push(f.name);
    }
  }
  assert.deepEqual(found.sort(), Object.keys(DASHBOARDS).sort());
});

test(`the plugin ${PLUGIN_ID} is where Grafana loads plugins, and allowed unsigned`, () => {
  const dir = hostPath(`${PLUGINS_DIR}/${PLUGIN_ID}`);
  const pluginJson = join(dir, "plugin.json");
  assert.ok(
    existsSync(pluginJson),
    `${pluginJson} missing: build the plugin (npm run build:plugin)`,
  );
  assert.equal((JSON.parse(readFileSync(pluginJson, "utf8")) as { id: string }).id, PLUGIN_ID);
  assert.ok(existsSync(join(dir, "module.js")), "module.js missing from the plugin build");
  assert.deepEqual(grafana.env.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS?.split(","), [PLUGIN_ID]);
});

/** The port a compose service listens on inside the network (KG_LISTEN, else the server's default). */
function listenPort(service: string): number {
  const s = compose.services[service];
  assert.ok(s, `${service} is not a compose service`);
  const listen = s.environment?.KG_LISTEN;
  if (listen) return Number(listen.split(":").pop());
  const flag = (Array.isArray(s.command) ? s.command : []).find((a) =>
    a.startsWith("--web.listen-address="),
  );
  const defaults: Record<string, number> = { prometheus: 9090, alertmanager: 9093 };
  const port = flag ? Number(flag.split(":").pop()) : defaults[service];
  assert.ok(port, `no known listen port for ${service}`);
  return port;
}

/** A URL Grafana's server calls: it must name a compose service on Grafana's network and its port. */
function assertServiceUrl(url: string, service: string, what: string): void {
  const u = new URL(url);
  assert.equal(u.hostname, service, `${what}: ${url} does not name the ${service} service`);
  // No service here sets `networks:`: all share the project's default network.
  for (const s of ["grafana", service])
    assert.equal(compose.services[s]?.networks, undefined, `${s} leaves the default network`);
  assert.equal(
    Number(u.port || 80),
    listenPort(service),
    `${what}: ${url} is not ${service}'s port`,
  );
}

test("data source URLs resolve to the gateway and Prometheus services; the contact point to the operator's", () => {
  const ds = parse(expanded(provisioned.datasources?.[0]?.[1] ?? "")) as {
    datasources: { type: string; url: string; jsonData?: { gatewayUrl?: string } }[];
  };
  const plugin = ds.datasources.find((d) => d.type === PLUGIN_ID);
  assert.ok(plugin?.jsonData?.gatewayUrl);
  assertServiceUrl(plugin.jsonData.gatewayUrl, "gateway", "plugin jsonData.gatewayUrl");
  assertServiceUrl(plugin.url, "gateway", "plugin url");
  const prom = ds.datasources.find((d) => d.type === "prometheus");
  assert.ok(prom);
  assertServiceUrl(prom.url, "prometheus", "Prometheus data source");
  const alerting = grafanaExpand(
    parse(provisioned.alerting?.[0]?.[1] ?? "") as ProvisionedAlerting,
    grafana.env,
  );
  for (const cp of alerting.contactPoints) {
    for (const r of cp.receivers) {
      assertServiceUrl(r.settings.url, "operator", `contact point ${cp.name}`);
      assert.equal(new URL(r.settings.url).pathname, "/webhooks/grafana");
    }
  }
});

test("the contact point's request (built from this view, ADR 0047) passes the operator as compose configures it", () => {
  const alerting = grafanaExpand(
    parse(provisioned.alerting?.[0]?.[1] ?? "") as ProvisionedAlerting,
    grafana.env,
  );
  const operator = loadConfig(containerView(compose, "operator").env).webhooks.auth;
  const now = new Date();
  for (const spec of ALERT_SPECS) {
    const req = grafanaWebhookRequest(
      alerting,
      spec.uid,
      { labels: { cgroup: "/kg/compose", node: "local" }, values: { B: 0.5, C: 1 }, startsAt: now },
      now,
    );
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]),
    );
    assert.equal(checkAuthorization(operator, headers.authorization), undefined, spec.uid);
    assert.equal(checkSignature(operator, req.body, headers, now), undefined, spec.uid);
  }
});
