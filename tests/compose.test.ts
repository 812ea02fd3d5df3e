// docker-compose.yaml, validated without Docker (no engine runs here): the
// structure of every key it uses per the Compose specification, variables with
// defaults, every bind-mounted path, services it depends on, the privileges of
// each service, Grafana's plugin mount and unsigned-plugin allowance, and the
// Prometheus and Alertmanager configurations — checked by the real promtool and
// amtool (Debian) on the tree the container would see.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { parseDuration } from "../src/shared/config/env.ts";

const run = promisify(execFile);
const PLUGIN_ID = "kernelgossip-kernel-datasource";
// Paths other issues add, each with the folder whose arrival makes it required: the
// Grafana plugin's build output (src/plugin/dist, built by src/plugin) and the
// provisioning folders. Until the owner exists the check is reported as skipped.
const LANDS_LATER: Record<string, string> = {
  "src/plugin/dist": "src/plugin/package.json",
  "provisioning/datasources": "provisioning/datasources",
  "provisioning/dashboards": "provisioning/dashboards",
  "provisioning/alerting": "provisioning/alerting",
};

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number };
  privileged?: boolean;
  pid?: string;
  cgroup?: string;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  configs?: { source: string; target: string }[];
}
interface Compose {
  name: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string; file?: string }>;
}

const text = readFileSync(join(REPO_ROOT, "docker-compose.yaml"), "utf8");
const compose = parse(text) as Compose;
const svc = (name: string) => {
  const s = compose.services[name];
  assert.ok(s, `service ${name} missing`);
  return s;
};

// Types of the Compose-spec keys this file uses (a key outside this table fails:
// extend it knowingly, per https://compose-spec.io).
const str = (v: unknown) => typeof v === "string";
const strs = (v: unknown) => Array.isArray(v) && v.every(str);
const SERVICE_KEYS: Record<string, (v: unknown) => boolean> = {
  image: str,
  build: (v) =>
    typeof v === "object" &&
    v !== null &&
    str((v as Service["build"])?.context) &&
    str((v as Service["build"])?.dockerfile),
  command: (v) => str(v) || strs(v),
  entrypoint: (v) => str(v) || strs(v),
  environment: (v) =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every(str),
  volumes: strs,
  // Published on loopback only.
  ports: (v) => Array.isArray(v) && v.every((p) => str(p) && /^127\.0\.0\.1:\d+:\d+$/.test(p)),
  depends_on: (v) =>
    typeof v === "object" &&
    v !== null &&
    Object.values(v as Record<string, { condition: string }>).every((d) =>
      ["service_started", "service_healthy", "service_completed_successfully"].includes(
        d.condition,
      ),
    ),
  healthcheck: (v) =>
    strs((v as Service["healthcheck"])?.test) &&
    typeof (v as Service["healthcheck"])?.retries === "number",
  privileged: (v) => typeof v === "boolean",
  pid: (v) => v === "host",
  cgroup: (v) => v === "host" || v === "private",
  cap_add: strs,
  cap_drop: strs,
  security_opt: strs,
  read_only: (v) => typeof v === "boolean",
  tmpfs: strs,
  configs: (v) =>
    Array.isArray(v) &&
    v.every((c: { source?: unknown; target?: unknown }) => str(c.source) && str(c.target)),
};

test("top level and every service key follow the Compose specification", () => {
  assert.deepEqual(
    Object.keys(compose).filter((k) => !["name", "services", "volumes", "configs"].includes(k)),
    [],
  );
  assert.equal(compose.name, "kernel-gossip");
  for (const [name, s] of Object.entries(compose.services)) {
    assert.ok(s.image ?? s.build, `${name}: neither image nor build`);
    for (const [k, v] of Object.entries(s)) {
      const check = SERVICE_KEYS[k];
      assert.ok(check, `${name}.${k}: key not in the checked subset of the spec`);
      assert.ok(check(v), `${name}.${k}: malformed ${JSON.stringify(v)}`);
    }
    for (const dep of Object.keys(s.depends_on ?? {}))
      assert.ok(compose.services[dep], `${name} depends on unknown ${dep}`);
    for (const c of s.configs ?? [])
      assert.ok(compose.configs?.[c.source], `${name}: config ${c.source} undeclared`);
    for (const v of s.volumes ?? []) {
      const src = v.split(":")[0] ?? "";
      if (!src.startsWith(".") && !src.startsWith("/")) {
        assert.ok(
          compose.volumes && src in compose.volumes,
          `${name}: named volume ${src} undeclared`,
        );
      }
    }
  }
  // A healthcheck exists wherever a dependant waits for service_healthy.
  for (const s of Object.values(compose.services)) {
    for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
      if (d.condition === "service_healthy")
        assert.ok(compose.services[dep]?.healthcheck, `${dep} has no healthcheck`);
    }
  }
});

test("every ${VARIABLE} has a default, so `docker compose up` needs no .env", () => {
  for (const m of text.matchAll(/\$\{([^}]+)\}/g)) {
    assert.match(m[1] ?? "", /^[A-Z_]+:-.+$/, `\${${m[1] ?? ""}} has no default`);
  }
});

const bindMounts = Object.entries(compose.services).flatMap(([name, s]) =>
  (s.volumes ?? [])
    .map((v) => v.split(":"))
    .filter(([src]) => src?.startsWith("./"))
    .map(([src, dst]) => ({ service: name, src: (src ?? "").slice(2), dst: dst ?? "" })),
);

for (const m of bindMounts) {
  const owner = LANDS_LATER[m.src];
  const later = owner !== undefined && !existsSync(join(REPO_ROOT, owner));
  test(
    `bind mount ./${m.src} (${m.service}:${m.dst}) exists`,
    { skip: later ? `${owner} lands with the Grafana issue` : false },
    () => {
      const hint =
        m.src === "src/plugin/dist" ? " (build the plugin: npm run build in src/plugin)" : "";
      assert.ok(existsSync(join(REPO_ROOT, m.src)), `${m.src} missing${hint}`);
    },
  );
}

test("built services name the images of deploy/ and their Dockerfiles exist", () => {
  for (const c of ["observer", "operator", "gateway"]) {
    const s = svc(c);
    assert.ok(s.build && existsSync(join(REPO_ROOT, s.build.context, s.build.dockerfile)));
    assert.match(s.image ?? "", new RegExp(`^kernel-gossip/${c}:\\d+\\.\\d+\\.\\d+$`));
    assert.ok(
      readFileSync(
        join(REPO_ROOT, "deploy/base", c, c === "observer" ? "daemonset.yaml" : "deployment.yaml"),
        "utf8",
      ).includes(`image: ${s.image ?? ""}`),
    );
  }
  // Every other image is pinned to an exact version.
  for (const [name, s] of Object.entries(compose.services)) {
    if (!s.build) assert.match(s.image ?? "", /:v?\d+\.\d+\.\d+/, `${name}: image not pinned`);
  }
});

test("privileges: the observer gets host PID, /sys, tracefs, bpffs and two capabilities, not privileged; the others drop everything", () => {
  const o = svc("observer");
  assert.equal(o.pid, "host");
  assert.equal(o.privileged, undefined);
  assert.deepEqual(o.cap_drop, ["ALL"]);
  assert.deepEqual([...(o.cap_add ?? [])].sort(), ["BPF", "PERFMON"]);
  for (const v of [
    "/sys:/sys:ro",
    "/sys/kernel/tracing:/sys/kernel/tracing",
    "/sys/fs/bpf:/sys/fs/bpf",
  ]) {
    assert.ok(o.volumes?.includes(v), `observer lacks ${v}`);
  }
  for (const c of ["operator", "gateway"]) {
    const s = svc(c);
    assert.equal(s.privileged, undefined);
    assert.deepEqual(s.cap_drop, ["ALL"]);
    assert.equal(s.read_only, true);
  }
});

test(`grafana ≥ 13.2 loads the plugin ${PLUGIN_ID} (unsigned allowed for it only) from src/plugin/dist`, () => {
  const g = svc("grafana");
  const [maj, min] = (/:(\d+)\.(\d+)\.\d+$/.exec(g.image ?? "") ?? []).slice(1).map(Number);
  assert.ok(
    (maj ?? 0) > 13 || ((maj ?? 0) === 13 && (min ?? 0) >= 2),
    `${g.image ?? ""} is older than 13.2`,
  );
  assert.equal(g.environment?.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS, PLUGIN_ID);
  assert.ok(g.volumes?.includes(`./src/plugin/dist:/var/lib/grafana/plugins/${PLUGIN_ID}:ro`));
  for (const dir of ["datasources", "dashboards", "alerting"]) {
    assert.ok(
      g.volumes?.includes(`./provisioning/${dir}:/etc/grafana/provisioning/${dir}:ro`),
      dir,
    );
  }
  // The plugin's own id, once src/plugin has landed.
  const pluginJson = [
    "src/plugin/src/plugin.json",
    "src/plugin/plugin.json",
    "src/plugin/dist/plugin.json",
  ]
    .map((p) => join(REPO_ROOT, p))
    .find(existsSync);
  if (pluginJson)
    assert.equal((JSON.parse(readFileSync(pluginJson, "utf8")) as { id: string }).id, PLUGIN_ID);
  // What Grafana does with the mounted files: tests/compose-grafana.test.ts.
});

/** The container's view of `prefix`: its bind mounts copied into a temp dir. */
function containerTree(service: string, prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), `kg-compose-${service}-`));
  for (const m of bindMounts.filter((b) => b.service === service && b.dst.startsWith(prefix))) {
    const dst = join(root, m.dst.slice(prefix.length));
    mkdirSync(dirname(dst), { recursive: true });
    cpSync(join(REPO_ROOT, m.src), dst, { recursive: true, dereference: true });
  }
  return root;
}

const flag = (s: Service, name: string) =>
  (Array.isArray(s.command) ? s.command : [])
    .find((a) => a.startsWith(`--${name}=`))
    ?.split("=")[1];

test("Prometheus: promtool accepts the config and the shipped rules as mounted; it scrapes observer, gateway and operator", async () => {
  const p = svc("prometheus");
  const config = flag(p, "config.file");
  assert.equal(config, "/etc/prometheus/prometheus.yaml");
  const root = containerTree("prometheus", "/etc/prometheus/");
  try {
    const r = await run("promtool", ["check", "config", join(root, "prometheus.yaml")]);
    assert.match(r.stdout, /SUCCESS: 1 rule files found/);
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);
    const cfg = parse(readFileSync(join(root, "prometheus.yaml"), "utf8")) as {
      global: { scrape_interval: string };
      scrape_configs: { static_configs: { targets: string[] }[] }[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    const targets = cfg.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    assert.deepEqual(targets.sort(), ["gateway:8080", "observer:9464", "operator:8080"]);
    assert.deepEqual(cfg.alerting.alertmanagers[0]?.static_configs[0]?.targets, [
      "alertmanager:9093",
    ]);
    // The gateway's rate windows assume this scrape interval.
    assert.equal(
      parseDuration(String(svc("gateway").environment?.KG_SCRAPE_INTERVAL)),
      parseDuration(cfg.global.scrape_interval),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("Alertmanager: amtool accepts the config; it posts to the operator's webhook with the operator's token", async () => {
  const a = svc("alertmanager");
  assert.equal(flag(a, "config.file"), "/etc/alertmanager/alertmanager.yaml");
  const root = containerTree("alertmanager", "/etc/alertmanager/");
  try {
    const r = await run("amtool", ["check-config", join(root, "alertmanager.yaml")]);
    assert.match(r.stdout, /SUCCESS/);
    const cfg = parse(readFileSync(join(root, "alertmanager.yaml"), "utf8")) as {
      receivers: {
        webhook_configs: {
          url: string;
          http_config: { authorization: { credentials_file: string } };
        }[];
      }[];
    };
    const hook = cfg.receivers[0]?.webhook_configs[0];
    assert.ok(hook);
    assert.equal(hook.url, "http://operator:8080/webhooks/alertmanager");
    const mounted = a.configs?.find(
      (c) => c.target === hook.http_config.authorization.credentials_file,
    );
    assert.ok(mounted, "credentials_file is not a mounted config");
    // Same value as the operator's expected token.
    assert.equal(
      compose.configs?.[mounted.source]?.content,
      svc("operator").environment?.KG_WEBHOOK_TOKEN,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("operator and gateway reach the k3s API through the kubeconfig the crds job writes", () => {
  const crds = svc("crds");
  const script = Array.isArray(crds.command) ? crds.command.join("\n") : (crds.command ?? "");
  assert.match(script, /--server=https:\/\/k3s:6443 --kubeconfig \/output\/compose\.yaml/);
  assert.match(
    script,
    /apply --server-side -f \/crds\/kernelwhispers\.yaml -f \/crds\/podbirthcertificates\.yaml/,
  );
  for (const f of ["kernelwhispers.yaml", "podbirthcertificates.yaml"])
    assert.ok(existsSync(join(REPO_ROOT, "deploy/crds", f)));
  assert.ok(svc("k3s").command?.includes("--tls-san=k3s"));
  assert.equal(svc("operator").environment?.KG_KUBECONFIG, "/kube/compose.yaml");
  assert.equal(svc("gateway").environment?.KG_KUBECONFIG, "/kube/compose.yaml");
  for (const c of ["operator", "gateway"]) assert.ok(svc(c).volumes?.includes("kube:/kube:ro"));
  assert.equal(svc("operator").depends_on?.crds?.condition, "service_completed_successfully");
});

test("Docker 20.10 (refuses cap names BPF/PERFMON): a fallback file swaps only the observer's capabilities for SYS_ADMIN, and the README says which engines are supported", () => {
  const file = join(REPO_ROOT, "docker-compose.docker-20.10.yaml");
  assert.ok(existsSync(file), "no fallback for Docker 20.10");
  // `!override` (Compose ≥ 2.24.5) replaces the list instead of merging into it.
  const overridden: string[] = [];
  const fallback = parse(readFileSync(file, "utf8"), {
    customTags: [
      {
        tag: "!override",
        collection: "seq",
        resolve: (seq) => {
          overridden.push("seq");
          return seq;
        },
      },
    ],
  }) as { services: Record<string, Record<string, unknown>> };
  assert.deepEqual(Object.keys(fallback.services), ["observer"]);
  assert.deepEqual(Object.keys(fallback.services.observer ?? {}), ["cap_add"]);
  assert.deepEqual(fallback.services.observer?.cap_add, ["SYS_ADMIN"]);
  assert.equal(
    overridden.length,
    1,
    "cap_add must be !override, or Compose merges it with BPF, PERFMON",
  );
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  assert.match(readme, /Docker Engine 23\.0 or later/);
  assert.match(readme, /docker-compose\.docker-20\.10\.yaml/);
  assert.match(readme, /unknown capability: "?CAP_BPF/);
});
