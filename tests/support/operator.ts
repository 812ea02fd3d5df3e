// Test helpers for the operator against the real API server: an in-process
// operator on a free port, the operator as its own process (to measure its
// memory), and polling reads of whispers through kubectl.
import type { KernelWhisper } from "../../src/shared/model/kernel-whisper.ts";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";
import { freePort } from "../../src/local/runtime/cluster.ts";
import { httpOk, launch, stopChild, waitFor } from "../../src/local/runtime/process.ts";
import type { TestCluster } from "../env/test-cluster.ts";
import { defaults, type Config } from "../../src/operator/config.ts";
import { logger } from "../../src/operator/log.ts";
import { startOperator, type RunningOperator } from "../../src/operator/operator.ts";

export function testConfig(
  kubeconfig: string,
  namespace: string,
  over: (c: Config) => void = () => undefined,
): Config {
  const c = defaults();
  c.listen = "127.0.0.1:0";
  c.kubeconfig = kubeconfig;
  c.namespace = namespace;
  c.whispers.flushIntervalMs = 100;
  c.leaderElection = {
    enabled: false,
    identity: `test-${process.pid}`,
    leaseMs: 15_000,
    renewDeadlineMs: 10_000,
    retryMs: 1_000,
  };
  over(c);
  return c;
}

export const startTestOperator = (cfg: Config): Promise<RunningOperator> =>
  startOperator(cfg, logger(process.env.KG_LOG_LEVEL ?? "warn"));

export async function listWhispers(kube: TestCluster, namespace: string): Promise<KernelWhisper[]> {
  const res = await kube.kubectl(["get", "kw", "-n", namespace, "-o", "json"]);
  if (res.code !== 0) throw new Error(res.stderr);
  return (JSON.parse(res.stdout) as { items: KernelWhisper[] }).items;
}

export { eventually } from "./eventually.ts";

/** One field of an object (kubectl -o jsonpath), e.g. get(kube, "pod/web", ns, ".spec.nodeName"). */
export async function field(
  kube: TestCluster,
  what: string,
  namespace: string,
  path: string,
): Promise<string> {
  const res = await kube.kubectl([
    "get",
    ...what.split("/"),
    "-n",
    namespace,
    "-o",
    `jsonpath={${path}}`,
  ]);
  if (res.code !== 0) throw new Error(res.stderr);
  return res.stdout;
}

export const CPU_LIMIT = ".spec.containers[0].resources.limits.cpu";
export const TEMPLATE_CPU_LIMIT = ".spec.template.spec.containers[0].resources.limits.cpu";
export const EVENT_REASONS = ".items[*].reason";

export interface OperatorProcess {
  url: string;
  pid: number;
  logPath: string;
  alive: () => boolean;
  /** Resident memory of the operator process (VmRSS), in bytes. */
  rssBytes: () => Promise<number>;
  stop: () => Promise<void>;
}

/** The operator as `node --import tsx src/operator/main.ts`, configured by KG_* variables. */
export async function startOperatorProcess(env: Record<string, string>): Promise<OperatorProcess> {
  const dir = await mkdtemp(join(tmpdir(), "kernel-gossip-operator-"));
  const logPath = join(dir, "operator.log");
  const port = await freePort();
  const child = launch(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "src/operator/main.ts")],
    logPath,
    { KG_LISTEN: `127.0.0.1:${port}`, KG_LOG_LEVEL: "warn", ...env },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("operator", child, logPath, 60_000, () => httpOk(`${url}/healthz`));
  } catch (err) {
    await stop();
    throw err;
  }
  // setpriv execs node: the child's pid is the operator's.
  const pid = child.pid ?? 0;
  return {
    url,
    pid,
    logPath,
    alive: () => child.exitCode === null && child.signalCode === null,
    async rssBytes() {
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN) * 1024;
    },
    stop,
  };
}
