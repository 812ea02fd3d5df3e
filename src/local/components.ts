// The parts `./kg run` starts, each as a function that starts one thing and
// returns how to reach it and how to stop it. Order matters: later parts use
// earlier ones (the operator streams from the observer, Prometheus scrapes it).
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { prometheusRules, SHIPPED_RULES } from "../shared/alerts/prometheus-rules.ts";
import { startAlertmanager } from "./runtime/alertmanager.ts";
import { REPO_ROOT } from "./runtime/binaries.ts";
import { freePort, startCluster } from "./runtime/cluster.ts";
import { startObserver } from "./runtime/observer.ts";
import { httpOk, launch, stopChild, tail, waitFor } from "./runtime/process.ts";
import { startPrometheus } from "./runtime/prometheus.ts";

export interface Running {
  name: string;
  lines: string[];
  stop: () => Promise<void>;
}

export interface Env {
  kubeconfig?: string;
  kubectl?: string;
  observerUrl?: string;
  operatorUrl?: string;
  prometheusUrl?: string;
  gatewayUrl?: string;
  webhookToken: string;
  gatewayToken: string;
  workDir: string;
  /**
   * The dashboard scenes (./scenes) run the same parts beside a real test node:
   * the observer then carries that node's name (pod watch, births), and may be
   * given extra flags; Prometheus may scrape faster than the default 15 s.
   */
  nodeName?: string;
  observerArgs?: string[];
  scrapeIntervalSeconds?: number;
}

const nodeOf = (env: Env) => env.nodeName ?? "local";
const scrapeOf = (env: Env) => env.scrapeIntervalSeconds ?? 15;

const log = (part: string) => (line: string) => console.error(`  ${part}: ${line}`);

/** The port if free, else any free one (said out loud). */
async function port(preferred: number, what: string): Promise<number> {
  const probe = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(preferred, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
  if (probe) return preferred;
  const other = await freePort();
  console.error(`  ${what}: port ${preferred} is taken, using ${other}`);
  return other;
}

export async function kubernetes(env: Env): Promise<Running> {
  const c = await startCluster({ log: log("kubernetes") });
  env.kubeconfig = c.kubeconfig;
  env.kubectl = c.binaries.kubectl;
  await c.kubectl(["create", "namespace", "kernel-gossip"]);
  return {
    name: "kubernetes (local etcd + kube-apiserver, CRDs installed)",
    lines: [
      `API server:  ${c.server}`,
      `kubeconfig:  ${c.kubeconfig}`,
      `try:         export KUBECONFIG=${c.kubeconfig}`,
      `             ${c.binaries.kubectl} get kw,pbc -A`,
    ],
    stop: () => c.stop(),
  };
}

export async function observer(env: Env): Promise<Running | undefined> {
  if (process.getuid?.() !== 0) {
    console.error("  observer: skipped — loading BPF programs needs root (run ./kg run as root)");
    return undefined;
  }
  const release = process.env.KG_OBSERVER_PROFILE !== "debug";
  console.error(
    `  observer: building (${release ? "release" : "debug"}; the first build takes minutes)`,
  );
  const p = await port(9464, "observer");
  const o = await startObserver({
    release,
    nodeName: nodeOf(env),
    kubeconfig: env.kubeconfig,
    listen: `127.0.0.1:${p}`,
    args: env.observerArgs ?? [],
  });
  env.observerUrl = o.url;
  return {
    name: "observer (eBPF + cgroupfs, this machine's kernel)",
    lines: [
      `metrics:     ${o.url}/metrics`,
      `events:      ${o.url}/events`,
      `log:         ${o.logPath}`,
    ],
    stop: () => o.stop(),
  };
}

/** A TypeScript service of ours as a child process, ready when /healthz answers. */
async function service(
  name: string,
  entry: string,
  p: number,
  vars: Record<string, string>,
  env: Env,
) {
  const logPath = join(env.workDir, `${name}.log`);
  const child = launch(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, entry)],
    logPath,
    vars,
  );
  const url = `http://127.0.0.1:${p}`;
  try {
    await waitFor(name, child, logPath, 60_000, () => httpOk(`${url}/healthz`));
  } catch (err) {
    await stopChild(child, 0);
    throw err;
  }
  return { url, logPath, stop: () => stopChild(child), tail: () => tail(logPath) };
}

export async function operator(env: Env): Promise<Running> {
  const p = await port(8080, "operator");
  const s = await service(
    "operator",
    "src/operator/main.ts",
    p,
    {
      KG_LISTEN: `127.0.0.1:${p}`,
      KG_KUBECONFIG: env.kubeconfig ?? "",
      KG_NAMESPACE: "kernel-gossip",
      KG_OBSERVER_URLS: env.observerUrl ?? "",
      KG_WEBHOOK_TOKEN: env.webhookToken,
      KG_LEADER_ELECTION: "false",
      KG_ACTIONS: process.env.KG_ACTIONS ?? "dry-run",
    },
    env,
  );
  env.operatorUrl = s.url;
  return {
    name: "operator (observer events + webhooks → KernelWhispers)",
    lines: [
      `webhooks:    ${s.url}/webhooks/grafana, ${s.url}/webhooks/alertmanager, ${s.url}/webhooks/pixie`,
      `token:       Authorization: Bearer ${env.webhookToken}`,
      `metrics:     ${s.url}/metrics`,
      `log:         ${s.logPath}`,
    ],
    stop: s.stop,
  };
}

export async function alerting(env: Env): Promise<Running[]> {
  if (!env.observerUrl || !env.operatorUrl) return [];
  const am = await startAlertmanager({
    webhookUrl: `${env.operatorUrl}/webhooks/alertmanager`,
    bearerToken: env.webhookToken,
    groupWait: "10s",
    groupInterval: "1m",
    repeatInterval: "1h",
  });
  const rules = join(env.workDir, "kernel-gossip-rules.yaml");
  await writeFile(rules, stringify(prometheusRules(SHIPPED_RULES)));
  const prom = await startPrometheus({
    scrapeTargets: [{ url: env.observerUrl, labels: { node: nodeOf(env) } }],
    scrapeInterval: `${scrapeOf(env)}s`,
    ruleFiles: [rules],
    alertmanagerUrl: am.url,
  });
  env.prometheusUrl = prom.url;
  return [
    {
      name: "prometheus (scrapes the observer, evaluates the shipped rules)",
      lines: [`UI/API:      ${prom.url}`],
      stop: () => prom.stop(),
    },
    {
      name: "alertmanager (posts to the operator)",
      lines: [`UI/API:      ${am.url}`],
      stop: () => am.stop(),
    },
  ];
}

export async function gateway(env: Env): Promise<Running> {
  const p = await port(8081, "gateway");
  const vars: Record<string, string> = {
    KG_LISTEN: `127.0.0.1:${p}`,
    KG_GATEWAY_TOKENS: env.gatewayToken,
    KG_KUBECONFIG: env.kubeconfig ?? "",
    KG_OBSERVER_URLS: env.observerUrl ? `${nodeOf(env)}=${env.observerUrl}` : "",
  };
  // Signals from Prometheus when it runs (scrape interval as configured above), else
  // straight from the observer.
  if (env.prometheusUrl) {
    vars.KG_PROMETHEUS_URL = env.prometheusUrl;
    vars.KG_SCRAPE_INTERVAL = `${scrapeOf(env)}s`;
  }
  // Pixie findings pushed over OTLP become whispers through the operator (ADR 0027).
  if (env.operatorUrl) {
    vars.KG_OPERATOR_URL = env.operatorUrl;
    vars.KG_OPERATOR_TOKEN = env.webhookToken;
  }
  const s = await service("gateway", "src/gateway/main.ts", p, vars, env);
  env.gatewayUrl = s.url;
  return {
    name: "gateway (the Grafana data source's query API)",
    lines: [
      `API:         ${s.url}/api/v1 (OpenAPI: ${s.url}/openapi.json)`,
      `OTLP:        ${s.url}/v1/metrics (OTLP/HTTP metrics, e.g. Pixie's export via a collector)`,
      `token:       Authorization: Bearer ${env.gatewayToken}`,
      `log:         ${s.logPath}`,
    ],
    stop: s.stop,
  };
}

export const newEnv = async (): Promise<Env> => ({
  webhookToken: randomBytes(12).toString("hex"),
  gatewayToken: randomBytes(12).toString("hex"),
  // Logs and generated config of this run; kept after stop for inspection.
  workDir: await mkdtemp(join(tmpdir(), "kernel-gossip-run-")),
});
