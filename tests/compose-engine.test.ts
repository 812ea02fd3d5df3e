// `docker compose up` as a user runs it, in a real Docker Engine on this machine
// (ADR 0070–0072): the test starts its own dockerd (built from the Go module proxy
// by scripts/setup.sh), builds stand-ins for the images no registry can give this
// machine (named as such: kg-standin/*, see tests/env/engine/standins.ts), has the
// engine build our three images from our Dockerfiles, and brings the shipped
// docker-compose.yaml up with tests/fixtures/compose/standins.yaml on top (image
// sources only). Then, in containers: every healthcheck turns healthy; the observer
// runs with exactly the compose privileges and loads its programs; Grafana's view
// from inside the grafana service's container (a stand-in that is NOT Grafana:
// same mounts, environment, user and network) resolves every provisioning path,
// variable and service name, and its contact point's request reaches the operator;
// a throttled cgroup on the host (the CLI's `demo throttle`) becomes a KernelWhisper
// in the compose API server; Prometheus scrapes the observer, its rule fires and
// Alertmanager's post to the operator updates that whisper; the gateway answers the
// plugin's queries with the compose token. `docker compose down` leaves nothing
// behind, and stopping the engine restores the host (checked against a snapshot).
//
// Each step is its own test with its own timeout (the cold image builds take longer
// than the runner's 5-minute default); a step whose prerequisite failed is skipped
// and says which. Run under the host lock: `flock /tmp/kg-host.lock node --import tsx
// --test --test-force-exit tests/compose-engine.test.ts`.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test, type TestContext } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import {
  grafanaWebhookRequest,
  interpolate as grafanaExpand,
  expandEnv,
  type ProvisionedAlerting,
} from "./support/grafana/webhook-request.ts";
import { ALERT_SPECS } from "../src/shared/alerts/rules.ts";
import { METRIC } from "../src/shared/signals/catalogue.ts";
import { DASHBOARDS } from "../src/shared/dashboards/index.ts";
import type { GatewayTarget } from "../src/shared/dashboards/panels.ts";
import { PLUGIN_ID } from "../src/shared/grafana/contract.ts";
import { pluginRequest } from "./support/grafana/plugin-request.ts";
import { engineBinaries, kubeBinaries, REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { loadCompose } from "./env/compose.ts";
import { composeStack, type Stack } from "./env/engine/compose.ts";
import { ADDRESS_POOL, debianEngine, startEngine, type Engine } from "./env/engine/dockerd.ts";
import { standIns, type StandIns } from "./env/engine/standins.ts";
import { cgroupMounts } from "../src/local/runtime/node/host.ts";
import { sleep } from "../src/local/runtime/process.ts";

const run = promisify(execFile);
const root = process.getuid?.() === 0;
const opts = (minutes: number) => ({
  skip: root ? false : "needs root (a container engine, BPF, cgroups)",
  timeout: minutes * 60_000,
});
const shipped = loadCompose();
const SERVICES = Object.keys(shipped.services);
const ONE_SHOT = new Set(["crds"]);
const WITH_HEALTHCHECK = SERVICES.filter((s) => shipped.services[s]?.healthcheck);
// Defaults of docker-compose.yaml on a first run (no .env).
const env = (service: string, name: string) => shipped.services[service]?.environment?.[name] ?? "";
const GATEWAY_TOKEN = env("gateway", "KG_GATEWAY_TOKENS");
const PORT = {
  operator: 8080,
  gateway: 8081,
  prometheus: 9090,
  alertmanager: 9093,
  observer: 9464,
};

let engine: Engine | undefined;
let stack: Stack | undefined;
let stand: StandIns | undefined;
let built = false;
let up = false;
let demo: { child: ChildProcess; cgroup: string; out: () => string } | undefined;
let watch: { child: ChildProcess; events: () => WhisperEvent[] } | undefined;
/** The observer image as `docker save` wrote it, for Docker 20.10 (no builds there). */
let savedObserver: string | undefined;
/** BPF programs the observer container held (ids), checked gone after down. */
let observerProgs: number[] = [];
const figures: string[] = [];

const eng = (): Engine => {
  assert.ok(engine, "the engine is not running");
  return engine;
};

function need(t: TestContext, what: boolean, why: string): boolean {
  if (!what) t.skip(why);
  return what;
}

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await f();
  } finally {
    figures.push(`${label}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** Thrown by a probe when waiting longer cannot help (a service exited). */
class Fatal extends Error {}

/** Polls until `probe` returns a value; the error names `what` and the services' state. */
async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
  services: string[] = [],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      last = err;
    }
    await sleep(1000);
  }
  const why = last instanceof Error ? `\nlast error: ${last.message}` : "";
  const st = stack;
  const logs = st ? await Promise.all(services.map((s) => st.describe(s))) : [];
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${why}\n${logs.join("\n")}`,
  );
}

const http = async (url: string, init: RequestInit = {}) => {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, text: await r.text() };
};

async function compose(args: string[], timeoutMs?: number, files?: string[]) {
  assert.ok(stack);
  const r = await stack.compose(args, { timeoutMs, files });
  assert.equal(r.code, 0, `docker compose ${args.join(" ")}:\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** Runs a command inside the grafana stand-in container (exec as its user, uid 472). */
const inGrafana = (argv: string[]) => compose(["exec", "-T", "grafana", ...argv]);

/** The kubeconfig k3s' stand-in wrote into the volume "kube" (server https://127.0.0.1:6443). */
async function hostKubeconfig(): Promise<string> {
  assert.ok(engine);
  const v = await engine.api.get<{ Mountpoint: string }>(`/volumes/${shipped.name}_kube`);
  return join(v.Mountpoint, "kubeconfig.yaml");
}

interface WhisperEvent {
  type: string;
  name: string;
  source: string;
  signal: string;
  cgroup: string;
  /** kernelTruth's window length in seconds. */
  windowSeconds: number;
}

let cleaned: Promise<void> | undefined;
const cleanUp = () =>
  (cleaned ??= (async () => {
    if (savedObserver) await rm(savedObserver, { force: true });
    demo?.child.kill("SIGINT");
    watch?.child.kill("SIGTERM");
    if (stack && up)
      await stack.compose(["down", "--volumes", "--timeout", "20"]).catch(() => undefined);
    await stack?.close();
    if (engine) await engine.stop().catch(() => undefined);
  })());
after(async () => {
  await cleanUp();
  if (figures.length) console.log(`compose engine test figures:\n  ${figures.join("\n  ")}`);
});
// The test runner ends a file that outruns its limit with SIGTERM; `after` does not
// run then, and the stack's containers (the observer's BPF programs among them) would
// outlive this file for the rest of the run.
process.once("SIGTERM", () => {
  void cleanUp().finally(() => process.exit(143));
});

test(
  "engine: our own dockerd starts (Docker Engine built from its Go module)",
  opts(2),
  async (t) => {
    engine = await timed("engine start", () => startEngine({ log: (l) => t.diagnostic(l) }));
    assert.equal(engine.version, engineBinaries().dockerVersion);
    const info = await engine.api.get<{ CgroupDriver: string; Driver: string }>("/info");
    assert.equal(info.Driver, "overlay2");
    assert.equal(info.CgroupDriver, "cgroupfs");
  },
);

test(
  "stand-ins: images no registry can give this machine, built and named as substitutes",
  opts(20),
  async (t) => {
    if (!need(t, engine !== undefined, "the engine did not start")) return;
    assert.ok(engine);
    stand = await timed("stand-ins", () => standIns(eng().api, (l) => t.diagnostic(l)));
    for (const s of stand.built) {
      const img = await eng().api.get<{ Config: { Labels: Record<string, string> } }>(
        `/images/${encodeURIComponent(s.ref)}/json`,
      );
      assert.equal(img.Config.Labels["io.kernel-gossip.stand-in-for"], s.standsInFor);
      assert.match(img.Config.Labels["org.opencontainers.image.description"] ?? "", /^NOT /);
    }
    stack = await composeStack(eng(), stand.env);
  },
);

test(
  "compose build: the engine builds observer, operator and gateway from our Dockerfiles",
  opts(40),
  async (t) => {
    if (!need(t, stack !== undefined, "no stand-ins")) return;
    await timed("compose build (observer, operator, gateway)", () =>
      compose(["build", "observer", "operator", "gateway"], 40 * 60_000),
    );
    assert.ok(engine);
    for (const c of ["observer", "operator", "gateway"]) {
      const ref = shipped.services[c]?.image ?? "";
      const img = await eng().api.get<{
        Config: { User: string; Labels: Record<string, string>; Entrypoint: string[] };
      }>(`/images/${encodeURIComponent(ref)}/json`);
      assert.equal(img.Config.Labels["org.opencontainers.image.title"], `kernel-gossip-${c}`, ref);
      assert.equal(img.Config.User, c === "observer" ? "0:0" : "65532:65532", ref);
    }
    built = true;
  },
);

test("compose up: every healthcheck turns healthy, the crds job completes", opts(10), async (t) => {
  if (!need(t, built, "the images were not built")) return;
  assert.ok(stack);
  const s = stack;
  // The shipped ports are fixed (127.0.0.1 only): name whoever holds one already.
  const busy: string[] = [];
  for (const svc of SERVICES) {
    for (const p of shipped.services[svc]?.ports ?? []) {
      const port = Number(p.split(":")[1]);
      if (!(await portFree(port))) busy.push(`${svc} ${String(port)}: ${await holder(port)}`);
    }
  }
  assert.deepEqual(busy, [], "ports docker-compose.yaml publishes are in use on this machine");
  await timed("compose up to healthy", async () => {
    const r = await s.compose(["up", "--detach", "--no-build"], { timeoutMs: 600_000 });
    up = true;
    assert.equal(
      r.code,
      0,
      `docker compose up:\n${r.stderr.slice(-4000)}\n${(await Promise.all(SERVICES.map((x) => s.describe(x, 20)))).join("\n")}`,
    );
    await until(
      `every container healthy (${WITH_HEALTHCHECK.join(", ")}), crds exited 0`,
      300_000,
      async () => {
        const ps = await s.ps();
        const byService = new Map(ps.map((p) => [p.Service, p]));
        for (const svc of SERVICES) {
          const p = byService.get(svc);
          if (!p) return undefined;
          if (ONE_SHOT.has(svc)) {
            if (p.State === "exited" && p.ExitCode !== 0) throw new Fatal(await s.describe(svc));
            if (p.State !== "exited") return undefined;
          } else {
            if (p.State !== "running") throw new Fatal(await s.describe(svc));
            if (WITH_HEALTHCHECK.includes(svc) && p.Health !== "healthy") return undefined;
          }
        }
        return true;
      },
      SERVICES,
    );
  });
  for (const p of await s.ps()) t.diagnostic(`${p.Service}: ${p.State} ${p.Health}`);
});

test(
  "observer: exactly the compose privileges, its programs loaded on this kernel",
  opts(3),
  async (t) => {
    if (!need(t, up, "the stack is not up")) return;
    assert.ok(engine && stack);
    const id = (await stack.ps()).find((p) => p.Service === "observer")?.ID ?? "";
    const c = await engine.api.get<{
      State: { Pid: number };
      HostConfig: Record<string, unknown>;
    }>(`/containers/${id}/json`);
    const h = c.HostConfig;
    const o = shipped.services.observer;
    assert.ok(o);
    assert.equal(h.Privileged, false);
    assert.equal(h.PidMode, "host");
    assert.equal(h.CgroupnsMode, "host");
    assert.equal(h.ReadonlyRootfs, true);
    // Compose sends the names with the CAP_ prefix.
    const caps = (l: unknown) => ((l as string[] | null) ?? []).map((c) => c.replace(/^CAP_/, ""));
    assert.deepEqual(caps(h.CapDrop), caps(o.cap_drop));
    assert.deepEqual(caps(h.CapAdd), caps(o.cap_add));
    assert.deepEqual(
      // dockerd adds label=disable (no SELinux labels) for a container in the host PID namespace.
      (h.SecurityOpt as string[]).filter((x) => x !== "label=disable").sort(),
      [...(o.security_opt as string[])].sort(),
    );
    // What the kernel granted the process, read on the host: CAP_PERFMON (38) and CAP_BPF (39) only.
    const status = readFileSync(`/proc/${String(c.State.Pid)}/status`, "utf8");
    const field = (k: string) => new RegExp(`^${k}:\\s*(\\S+)`, "m").exec(status)?.[1];
    const expected = ((1n << 38n) | (1n << 39n)).toString(16).padStart(16, "0");
    for (const k of ["CapEff", "CapPrm", "CapBnd"])
      assert.equal(field(k), expected, `${k} of the observer`);
    assert.equal(field("NoNewPrivs"), "1");
    assert.equal(field("Seccomp"), "0", "seccomp=unconfined");
    // Its programs, attributed to its pid by the kernel (bpftool reads the owning tasks).
    const progs = await programsOf(c.State.Pid);
    observerProgs = progs.map((p) => p.id);
    t.diagnostic(
      `observer pid ${String(c.State.Pid)}: ${String(progs.length)} programs (${[...new Set(progs.map((p) => p.type))].join(", ")})`,
    );
    assert.ok(
      progs.length >= 5,
      `the observer holds ${String(progs.length)} BPF programs\n${await stack.describe("observer")}`,
    );
    const metrics = await http(`http://127.0.0.1:${String(PORT.observer)}/metrics`);
    assert.match(metrics.text, new RegExp(`^${METRIC.usageSeconds}\\{cgroup="/"\\} `, "m"));
  },
);

test(
  "throttle → whisper: the CLI's demo throttle on the host becomes a KernelWhisper in the compose API",
  opts(4),
  async (t) => {
    if (!need(t, up, "the stack is not up")) return;
    const kubeconfig = await hostKubeconfig();
    watch = watchWhispers(kubeconfig);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "demo", "throttle", "--seconds", "400"],
      {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const cgroup = await until("the demo's cgroup", 30_000, () =>
      Promise.resolve(/cgroup (\/kernel-gossip-demo\/\S+),/.exec(out)?.[1]),
    );
    demo = { child, cgroup, out: () => out };
    t.diagnostic(`demo throttle: cgroup ${cgroup}`);
    const started = Date.now();
    const seen = await until(
      `a cpu-throttling KernelWhisper for ${cgroup} (source observer)`,
      150_000,
      () =>
        watch
          ?.events()
          .find(
            (e) => e.cgroup === cgroup && e.signal === "cpu-throttling" && e.source === "observer",
          ),
      ["observer", "operator", "k3s"],
    );
    figures.push(`demo start → observer whisper: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const kw = await kubectl(kubeconfig, [
      "get",
      "kw",
      "-n",
      "kernel-gossip",
      seen.name,
      "-o",
      "json",
    ]);
    const spec = (
      JSON.parse(kw) as {
        spec: { kernelTruth: { quantities: { name: string; value: number; unit: string }[] } };
      }
    ).spec;
    const ratio = spec.kernelTruth.quantities.find((q) => q.name === "throttledPeriodsRatio");
    assert.ok(ratio && ratio.value > 0 && ratio.unit === "ratio", JSON.stringify(spec));
    // deploy/README.md's command for the whispers, as written there: the crds image's
    // kubectl through the compose network, with the kubeconfig the crds job wrote.
    const documented = /^docker compose (run .*)$/m.exec(
      readFileSync(join(REPO_ROOT, "deploy/README.md"), "utf8"),
    )?.[1];
    assert.ok(documented, "deploy/README.md shows no `docker compose run` command");
    const listed = await compose(documented.split(/\s+/));
    assert.ok(listed.includes(seen.name), `docker compose ${documented}:\n${listed}`);
  },
);

test(
  "Grafana's view from inside the grafana service's container (a stand-in, NOT Grafana)",
  opts(3),
  async (t) => {
    if (!need(t, up, "the stack is not up")) return;
    const view = await grafanaEnv();
    assert.equal((await inGrafana(["id", "-u"])).trim(), "472");
    // Each provisioning file where Grafana reads it, byte for byte the repository's.
    for (const kind of ["datasources", "dashboards", "alerting"]) {
      for (const f of readdirSync(join(REPO_ROOT, "provisioning", kind))) {
        const inside = await inGrafana(["cat", `/etc/grafana/provisioning/${kind}/${f}`]);
        assert.equal(
          inside,
          readFileSync(join(REPO_ROOT, "provisioning", kind, f), "utf8"),
          `${kind}/${f}`,
        );
      }
    }
    // The dashboard provider's folder holds the four dashboards.
    const providers = parse(
      expandEnv(
        readFileSync(join(REPO_ROOT, "provisioning/dashboards/kernel-gossip.yaml"), "utf8"),
        view,
      ),
    ) as {
      providers: { options: { path: string } }[];
    };
    for (const p of providers.providers) {
      const found = (await inGrafana(["find", p.options.path, "-name", "*.json"]))
        .split("\n")
        .filter(Boolean);
      assert.deepEqual(
        found.map((f) => f.split("/").pop()).sort(),
        Object.keys(DASHBOARDS).sort(),
        p.options.path,
      );
    }
    await inGrafana(["test", "-r", `/var/lib/grafana/plugins/${PLUGIN_ID}/plugin.json`]);
    await inGrafana(["test", "-r", `/var/lib/grafana/plugins/${PLUGIN_ID}/module.js`]);
    // Grafana keeps its database in /var/lib/grafana: writable by its uid.
    await inGrafana([
      "sh",
      "-c",
      "touch /var/lib/grafana/.kg-probe && rm /var/lib/grafana/.kg-probe",
    ]);
    // Every ${VAR} in provisioning set and non-empty in the container's environment.
    for (const kind of ["datasources", "dashboards", "alerting"]) {
      for (const f of readdirSync(join(REPO_ROOT, "provisioning", kind))) {
        for (const m of readFileSync(join(REPO_ROOT, "provisioning", kind, f), "utf8").matchAll(
          /\$\{(\w+)\}/g,
        ))
          assert.ok(
            view[m[1] ?? ""],
            `${kind}/${f}: ${m[1] ?? ""} unset or empty in the grafana container`,
          );
      }
    }
    // The URLs Grafana's server calls, resolved by the container's DNS and answered.
    const ds = parse(
      expandEnv(
        readFileSync(join(REPO_ROOT, "provisioning/datasources/kernel-gossip.yaml"), "utf8"),
        view,
      ),
    ) as {
      datasources: { type: string; url: string; jsonData?: { gatewayUrl?: string } }[];
    };
    const alerting = alertingAsGrafanaReadsIt(view);
    const urls: [string, string][] = [
      ...ds.datasources.map((d): [string, string] => [d.type, d.jsonData?.gatewayUrl ?? d.url]),
      ...alerting.contactPoints.flatMap((c) =>
        c.receivers.map((r): [string, string] => [`contact point ${c.name}`, r.settings.url]),
      ),
    ];
    const pool = ADDRESS_POOL.split(".").slice(0, 2).join(".");
    for (const [what, url] of urls) {
      const host = new URL(url).hostname;
      const resolved = (await inGrafana(["getent", "hosts", host])).trim().split(/\s+/)[0] ?? "";
      assert.ok(
        resolved.startsWith(`${pool}.`),
        `${what}: ${host} resolves to ${resolved}, not a compose network address`,
      );
      t.diagnostic(`${what}: ${url} → ${resolved}`);
    }
    const health = (u: string, path: string) => `${new URL(u).origin}${path}`;
    await inGrafana(["wget", "-q", "-O", "-", health(view.KG_GATEWAY_URL ?? "", "/healthz")]);
    await inGrafana(["wget", "-q", "-O", "-", health(view.KG_PROMETHEUS_URL ?? "", "/-/ready")]);
    await inGrafana(["wget", "-q", "-O", "-", health(view.KG_OPERATOR_URL ?? "", "/healthz")]);
  },
);

test(
  "Grafana's contact point: its request, sent from the grafana container with real values, is accepted by the operator",
  opts(4),
  async (t) => {
    if (!need(t, up && demo !== undefined, "no throttled cgroup")) return;
    assert.ok(demo);
    const cgroup = demo.cgroup;
    const view = await grafanaEnv();
    const alerting = alertingAsGrafanaReadsIt(view);
    const spec = ALERT_SPECS.find((s) => s.signal === "cpu-throttling");
    const rule = alerting.groups.flatMap((g) => g.rules).find((r) => r.uid === spec?.uid);
    assert.ok(rule);
    // Query A as Grafana's server runs it: from its container, on its Prometheus data source.
    const expr = (rule.data.find((d) => d.refId === "A")?.model as { expr: string }).expr;
    const threshold =
      (
        rule.data.find((d) => d.refId === "C")?.model as {
          conditions: { evaluator: { params: number[] } }[];
        }
      ).conditions[0]?.evaluator.params[0] ?? 0;
    const series = await until(
      "query A to return the demo's cgroup",
      120_000,
      async () => {
        const body = await inGrafana([
          "wget",
          "-q",
          "-O",
          "-",
          `${view.KG_PROMETHEUS_URL ?? ""}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`,
        ]);
        const r = JSON.parse(body) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return r.data.result.find((s) => s.metric.cgroup === cgroup);
      },
      ["prometheus", "observer"],
    );
    const b = Number(series.value[1]);
    const values = { B: b, C: b > threshold ? 1 : 0 };
    t.diagnostic(`query A for ${cgroup}: B=${String(b)} (threshold ${String(threshold)})`);
    assert.equal(
      values.C,
      1,
      `the demo's throttled share ${String(b)} is not above the rule's threshold`,
    );
    const now = new Date();
    const req = grafanaWebhookRequest(
      alerting,
      rule.uid,
      { labels: series.metric, values, startsAt: now },
      now,
    );
    const headers = Object.entries(req.headers).flatMap(([k, v]) => ["--header", `${k}: ${v}`]);
    const reply = JSON.parse(
      await inGrafana(["wget", "-q", "-O", "-", ...headers, "--post-data", req.body, req.url]),
    ) as {
      accepted: number;
    };
    assert.equal(reply.accepted, 1, JSON.stringify(reply));
    await until(
      `the whisper for ${cgroup} written with source grafana`,
      30_000,
      () =>
        Promise.resolve(watch?.events().find((e) => e.cgroup === cgroup && e.source === "grafana")),
      ["operator"],
    );
  },
);

test(
  "Prometheus → Alertmanager → operator: the shipped rule fires on the observer's numbers and the whisper is updated",
  opts(6),
  async (t) => {
    if (!need(t, up && demo !== undefined, "no throttled cgroup")) return;
    assert.ok(demo);
    const cgroup = demo.cgroup;
    const prom = `http://127.0.0.1:${String(PORT.prometheus)}`;
    const targets = JSON.parse((await http(`${prom}/api/v1/targets`)).text) as {
      data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
    };
    for (const tg of targets.data.activeTargets)
      t.diagnostic(`scrape ${tg.labels.job}: ${tg.health} ${tg.lastError}`);
    await until(
      "Prometheus to scrape observer, gateway and operator",
      60_000,
      async () => {
        const r = JSON.parse((await http(`${prom}/api/v1/targets`)).text) as typeof targets;
        return r.data.activeTargets.length === 3 &&
          r.data.activeTargets.every((x) => x.health === "up")
          ? true
          : undefined;
      },
      ["prometheus"],
    );
    const started = Date.now();
    await until(
      `KernelCpuThrottling firing for ${cgroup} in Alertmanager`,
      300_000,
      async () => {
        const r = JSON.parse(
          (await http(`http://127.0.0.1:${String(PORT.alertmanager)}/api/v2/alerts`)).text,
        ) as {
          labels: Record<string, string>;
          status: { state: string };
        }[];
        return r.find(
          (a) => a.labels.alertname === "KernelCpuThrottling" && a.labels.cgroup === cgroup,
        )
          ? true
          : undefined;
      },
      ["prometheus", "alertmanager"],
    );
    const seen = await until(
      `the whisper for ${cgroup} written with source alertmanager`,
      120_000,
      () =>
        Promise.resolve(
          watch?.events().find((e) => e.cgroup === cgroup && e.source === "alertmanager"),
        ),
      ["alertmanager", "operator"],
    );
    figures.push(
      `alert firing → whisper (source alertmanager) after ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.equal(
      seen.windowSeconds,
      300,
      "the alert's window (annotation kernel_gossip_window: 5m)",
    );
    const am = await http(`http://127.0.0.1:${String(PORT.alertmanager)}/metrics`);
    assert.match(am.text, /^alertmanager_notifications_total\{integration="webhook"\} [1-9]/m);
    assert.match(
      am.text,
      /^alertmanager_notifications_failed_total\{integration="webhook"(,reason="[^"]*")?\} 0$/m,
    );
    const op = await http(`http://127.0.0.1:${String(PORT.operator)}/metrics`);
    assert.match(
      op.text,
      /kernel_gossip_operator_webhooks_total\{[^}]*source="alertmanager"[^}]*outcome="accepted"[^}]*\} [1-9]/,
    );
  },
);

test(
  "gateway: answers the plugin's queries with the compose token, refuses without",
  opts(2),
  async (t) => {
    if (!need(t, up && demo !== undefined, "no throttled cgroup")) return;
    assert.ok(demo);
    const gw = `http://127.0.0.1:${String(PORT.gateway)}`;
    const refused = await http(`${gw}/api/v1/query`, { method: "POST", body: "{}" });
    assert.equal(refused.status, 401, refused.text);
    const board = DASHBOARDS["metrics-lie.json"]?.();
    const target = board?.panels.find((p) => p.title === "Truth vs metrics over the range")
      ?.targets[0];
    assert.ok(target);
    const now = Date.now();
    const sent = pluginRequest(
      { ...target, filters: { cgroup: demo.cgroup } },
      now - 300_000,
      now,
      (x) => x,
    );
    if (sent.kind !== "query") assert.fail(`plugin request: ${sent.kind}`);
    // The overview's whispers table, found by its query type (its title may change).
    const active = DASHBOARDS["kernel-truth-overview.json"]?.()
      .panels.flatMap((p) => p.targets)
      .find((q): q is GatewayTarget => "queryType" in q && q.queryType === "whispers");
    assert.ok(active);
    const whispers = pluginRequest(
      { ...active, filters: { cgroup: demo.cgroup } },
      now - 900_000,
      now,
      (x) => x,
    );
    if (whispers.kind !== "query") assert.fail(`plugin request: ${whispers.kind}`);
    const r = await http(`${gw}/api/v1/query`, {
      method: "POST",
      headers: { authorization: `Bearer ${GATEWAY_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        queries: [
          { ...sent.query, refId: "M" },
          { ...whispers.query, refId: "W" },
        ],
      }),
    });
    assert.equal(r.status, 200, `${r.text}\n${await stack?.describe("gateway")}`);
    const body = JSON.parse(r.text) as {
      results: Record<
        string,
        {
          status: number;
          error?: string;
          frames: { fields: { name: string; values: unknown[] }[] }[];
        }
      >;
    };
    const m = body.results.M?.frames[0]?.fields ?? [];
    const col = (name: string) => m.find((f) => f.name === name)?.values ?? [];
    const row = col("workload").findIndex(
      (w) => typeof w === "string" && w.includes(demo?.cgroup ?? "\0"),
    );
    assert.ok(row >= 0, `no row for ${demo.cgroup}: ${JSON.stringify(body.results.M)}`);
    const ratio = col("throttledPeriodsRatio")[row];
    assert.ok(typeof ratio === "number" && ratio > 0, `ratio ${String(ratio)}`);
    t.diagnostic(
      `gateway: ${demo.cgroup} throttledPeriodsRatio=${String(ratio)} (Prometheus in compose, 5m)`,
    );
    assert.equal(body.results.W?.status, 200, JSON.stringify(body.results.W));
    assert.ok(
      JSON.stringify(body.results.W).includes(demo.cgroup),
      "the whisper is not in the gateway's answer",
    );
  },
);

const FALLBACK = "docker-compose.docker-20.10.yaml";

test(
  `Docker 20.10 fallback (${FALLBACK}): the observer with CAP_SYS_ADMIN instead of CAP_BPF + CAP_PERFMON loads its programs`,
  opts(3),
  async (t) => {
    if (!need(t, up, "the stack is not up")) return;
    assert.ok(stack);
    // Compose's own merge: only the observer's cap_add differs.
    type Config = { services: Record<string, Record<string, unknown>> };
    const plain = JSON.parse(await compose(["config", "--format", "json"])) as Config;
    const merged = JSON.parse(
      await compose(["config", "--format", "json"], undefined, [FALLBACK]),
    ) as Config;
    assert.deepEqual(merged.services.observer?.cap_add, ["SYS_ADMIN"]);
    const withoutCaps = (c: Config) => ({
      ...c,
      services: { ...c.services, observer: { ...c.services.observer, cap_add: undefined } },
    });
    assert.deepEqual(
      withoutCaps(merged),
      withoutCaps(plain),
      `${FALLBACK} changes more than the observer's capabilities`,
    );
    await compose(["up", "--detach", "--no-deps", "--force-recreate", "observer"], 300_000, [
      FALLBACK,
    ]);
    const pid = await until(
      "the fallback observer healthy",
      120_000,
      async () => {
        const p = (await stack?.ps())?.find((e) => e.Service === "observer");
        if (p?.Health !== "healthy") return undefined;
        return (await eng().api.get<{ State: { Pid: number } }>(`/containers/${p.ID}/json`)).State
          .Pid;
      },
      ["observer"],
    );
    const status = readFileSync(`/proc/${String(pid)}/status`, "utf8");
    const capEff = /^CapEff:\s*(\S+)/m.exec(status)?.[1];
    assert.equal(capEff, (1n << 21n).toString(16).padStart(16, "0"), "CAP_SYS_ADMIN (21) only");
    const progs = await programsOf(pid);
    observerProgs.push(...progs.map((p) => p.id));
    t.diagnostic(
      `fallback observer pid ${String(pid)}: ${String(progs.length)} programs with CAP_SYS_ADMIN only`,
    );
    assert.ok(
      progs.length >= 5,
      `${String(progs.length)} programs\n${await stack.describe("observer")}`,
    );
  },
);

test(
  "docker compose down leaves nothing behind; the engine stops and the host is as before",
  opts(5),
  async (t) => {
    if (!need(t, engine !== undefined, "the engine did not start")) return;
    assert.ok(engine);
    if (demo) {
      demo.child.kill("SIGINT");
      await new Promise((r) =>
        demo?.child.exitCode !== null ? r(undefined) : demo.child.once("exit", r),
      );
      for (const m of cgroupMounts())
        assert.ok(!existsSync(join(m, demo.cgroup)), `the demo left ${join(m, demo.cgroup)}`);
    }
    watch?.child.kill("SIGTERM");
    if (stack && up) {
      const project = encodeURIComponent(
        JSON.stringify({ label: [`com.docker.compose.project=${shipped.name}`] }),
      );
      const networks = await engine.api.get<{ Id: string }[]>(`/networks?filters=${project}`);
      const ids = new Map((await stack.ps()).map((p) => [p.ID.slice(0, 12), p.Service]));
      const logBefore = readFileSync(eng().logPath, "utf8").length;
      await timed("compose down", () => compose(["down", "--volumes", "--timeout", "20"]));
      up = false;
      // Services that ignored SIGTERM for 20 s and were killed (dockerd says which).
      const forced = [
        ...readFileSync(eng().logPath, "utf8")
          .slice(logBefore)
          .matchAll(/failed to exit within \d+s of signal 15.*container=([0-9a-f]{12})/g),
      ].map((m) => ids.get(m[1] ?? "") ?? m[1]);
      for (const f of forced) t.diagnostic(`${String(f)} did not stop on SIGTERM within 20 s`);
      const ours = forced.filter((f) => f === "observer" || f === "operator" || f === "gateway");
      assert.deepEqual(ours, [], "our services must stop on SIGTERM");
      assert.deepEqual(
        await engine.api.get<unknown[]>(`/containers/json?all=true&filters=${project}`),
        [],
        "containers left",
      );
      assert.deepEqual(
        await engine.api.get<unknown[]>(`/networks?filters=${project}`),
        [],
        "networks left",
      );
      assert.deepEqual(
        (await engine.api.get<{ Volumes: unknown[] | null }>(`/volumes?filters=${project}`))
          .Volumes ?? [],
        [],
        "volumes left",
      );
      const links = (await run("ip", ["-o", "link", "show"])).stdout;
      for (const n of networks)
        assert.ok(
          !links.includes(`br-${n.Id.slice(0, 12)}`),
          `bridge br-${n.Id.slice(0, 12)} left`,
        );
      for (const m of cgroupMounts()) {
        const dir = join(m, eng().spec.cgroupParent);
        const left = existsSync(dir)
          ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())
          : [];
        assert.deepEqual(
          left.map((e) => e.name),
          [],
          `container cgroups left in ${dir}`,
        );
      }
      if (observerProgs.length) {
        const ids = new Set(
          (
            JSON.parse(
              (await run("bpftool", ["prog", "show", "--json"], { maxBuffer: 64 << 20 })).stdout,
            ) as { id: number }[]
          ).map((p) => p.id),
        );
        assert.deepEqual(
          observerProgs.filter((id) => ids.has(id)),
          [],
          "the observer's BPF programs are still loaded",
        );
      }
    }
    if (built) {
      savedObserver = join(tmpdir(), `kg-observer-image-${String(process.pid)}.tar`);
      const ref = shipped.services.observer?.image ?? "";
      await eng().api.download(`/images/get?names=${encodeURIComponent(ref)}`, savedObserver);
    }
    // The engine's data root outlives the run (its layers are the next build's cache):
    // images that a rebuild left untagged would pile up on a CI machine, run after run.
    const pruned = await eng().api.call(
      "POST",
      `/images/prune?filters=${encodeURIComponent(JSON.stringify({ dangling: ["true"] }))}`,
    );
    assert.equal(pruned.status, 200, pruned.text);
    const freed = (JSON.parse(pruned.text) as { SpaceReclaimed?: number }).SpaceReclaimed ?? 0;
    t.diagnostic(`untagged images pruned: ${(freed / 2 ** 20).toFixed(0)} MiB`);
    await stack?.close();
    stack = undefined;
    const running = eng();
    const teardown = await timed("engine stop and host restore", () => running.stop());
    engine = undefined;
    for (const c of teardown.cleaned) t.diagnostic(`undone after dockerd stopped: ${c}`);
    assert.deepEqual(teardown.leftovers, [], "the host differs from before the engine started");
    for (const f of figures) t.diagnostic(f);
  },
);

/**
 * BPF programs held by `pid`: the prog_id of every BPF program and link file it has
 * open, from the kernel's fdinfo (Debian's bpftool 7.1 cannot name owning pids).
 */
async function programsOf(pid: number): Promise<{ id: number; type: string }[]> {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${String(pid)}/fd`)) {
    try {
      const m = /^prog_id:\s*(\d+)$/m.exec(
        readFileSync(`/proc/${String(pid)}/fdinfo/${fd}`, "utf8"),
      );
      if (m) ids.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  const { stdout } = await run("bpftool", ["prog", "show", "--json"], { maxBuffer: 64 << 20 });
  return (JSON.parse(stdout) as { id: number; type: string }[]).filter((p) => ids.has(p.id));
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });

const holder = async (port: number) =>
  (
    await run("ss", ["-Hltnp", `sport = :${String(port)}`]).catch(() => ({ stdout: "?" }))
  ).stdout.trim();

async function kubectl(kubeconfig: string, args: string[]): Promise<string> {
  const { stdout } = await run(kubeBinaries().kubectl, ["--kubeconfig", kubeconfig, ...args], {
    maxBuffer: 64 << 20,
  });
  return stdout;
}

/**
 * Every KernelWhisper version the compose API server publishes, as a watch sees them
 * (fields separated by "|": kubectl aligns tab-separated output).
 */
function watchWhispers(kubeconfig: string): { child: ChildProcess; events: () => WhisperEvent[] } {
  const template =
    '{.type}{"|"}{.object.metadata.name}{"|"}{.object.spec.source}{"|"}{.object.spec.signal}{"|"}' +
    '{.object.spec.subject.cgroupPath}{"|"}{.object.spec.kernelTruth.window.start}{"|"}' +
    '{.object.spec.kernelTruth.window.end}{"\\n"}';
  const child = spawn(
    kubeBinaries().kubectl,
    [
      "--kubeconfig",
      kubeconfig,
      "get",
      "kernelwhispers",
      "-A",
      "--watch",
      "--output-watch-events",
      "-o",
      `jsonpath=${template}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let buf = "";
  const events: WhisperEvent[] = [];
  child.stdout.on("data", (c: Buffer) => {
    buf += c.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    for (const l of lines) {
      const [type = "", name = "", source = "", signal = "", cgroup = "", start = "", end = ""] =
        l.split("|");
      const windowSeconds = (Date.parse(end) - Date.parse(start)) / 1000;
      events.push({ type, name, source, signal, cgroup, windowSeconds });
    }
  });
  return { child, events: () => events };
}

/** The grafana container's environment, read from inside it. */
async function grafanaEnv(): Promise<Record<string, string>> {
  const out = await inGrafana(["env", "-0"]);
  return Object.fromEntries(
    out
      .split("\0")
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
}

const alertingAsGrafanaReadsIt = (view: Record<string, string>) =>
  grafanaExpand(
    parse(
      readFileSync(join(REPO_ROOT, "provisioning/alerting/kernel-gossip.yaml"), "utf8"),
    ) as ProvisionedAlerting,
    view,
  );

test(
  "Docker 20.10 (Debian 12's docker.io): the shipped file stops at the observer's capabilities; with the fallback the observer loads its programs",
  opts(6),
  async (t) => {
    if (!need(t, savedObserver !== undefined && stand !== undefined, "no observer image")) return;
    assert.ok(savedObserver && stand);
    const spec = await debianEngine();
    const old = await startEngine({ spec, log: (l) => t.diagnostic(l) });
    let teardown: Awaited<ReturnType<Engine["stop"]>> | undefined;
    try {
      assert.match(old.version, /^20\.10\./);
      const loaded = await old.api.call(
        "POST",
        "/images/load?quiet=1",
        createReadStream(savedObserver),
      );
      assert.equal(loaded.status, 200, loaded.text);
      const st = await composeStack(old, stand.env);
      try {
        const up = (files?: string[]) =>
          st.compose(
            ["up", "--detach", "--no-build", "--no-deps", "--force-recreate", "observer"],
            {
              files,
              timeoutMs: 300_000,
            },
          );
        const shippedRun = await up();
        t.diagnostic(
          `docker-compose.yaml on ${old.version}: ${shippedRun.stderr.trim().split("\n").at(-1) ?? ""}`,
        );
        assert.notEqual(shippedRun.code, 0, "Docker 20.10 started the observer with CAP_BPF");
        assert.match(shippedRun.stderr, /unknown capability: "?CAP_BPF/);
        const fallbackRun = await up([FALLBACK]);
        assert.equal(fallbackRun.code, 0, `with ${FALLBACK}:\n${fallbackRun.stderr}`);
        const pid = await until("the observer healthy on Docker 20.10", 120_000, async () => {
          const p = (await st.ps()).find((e) => e.Service === "observer");
          if (p?.State === "exited") throw new Fatal(await st.describe("observer"));
          if (p?.Health !== "healthy") return undefined;
          return (await old.api.get<{ State: { Pid: number } }>(`/containers/${p.ID}/json`)).State
            .Pid;
        });
        const capEff = /^CapEff:\s*(\S+)/m.exec(
          readFileSync(`/proc/${String(pid)}/status`, "utf8"),
        )?.[1];
        assert.equal(capEff, (1n << 21n).toString(16).padStart(16, "0"), "CAP_SYS_ADMIN (21) only");
        const progs = await programsOf(pid);
        t.diagnostic(
          `observer on Docker ${old.version} with ${FALLBACK}: ${String(progs.length)} programs`,
        );
        assert.ok(
          progs.length >= 5,
          `${String(progs.length)} programs\n${await st.describe("observer")}`,
        );
      } finally {
        await st.compose(["down", "--volumes", "--timeout", "20"]);
        await st.close();
      }
    } finally {
      teardown = await old.stop();
    }
    assert.deepEqual(teardown.leftovers, [], "Docker 20.10 left the host changed");
  },
);
