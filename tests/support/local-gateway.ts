// A gateway process for tests (src/gateway/main.test.ts): main.ts as a child on
// a free loopback port with a fresh random token and the environment a
// deployment would set, ready when /readyz says the caches synced. (`./kg run`
// starts its gateway in src/local/components.ts.)
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";
import { freePort } from "../../src/local/runtime/cluster.ts";
import { httpOk, launch, stopChild, waitFor } from "../../src/local/runtime/process.ts";

export interface LocalGatewayOptions {
  kubeconfig: string;
  /** Prometheus scraping the observers; without it the gateway reads `observerUrls` directly. */
  prometheusUrl?: string;
  /** Observers as "node=url" or "url". */
  observerUrls?: string[];
  token?: string;
}

export interface LocalGateway {
  url: string;
  token: string;
  logPath: string;
  /** The environment it was started with (what a deployment would set). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalGateway(opts: LocalGatewayOptions): Promise<LocalGateway> {
  const port = await freePort();
  const token = opts.token ?? randomBytes(24).toString("base64url");
  const dir = await mkdtemp(join(tmpdir(), "kernel-gossip-gateway-"));
  const logPath = join(dir, "gateway.log");
  const env: Record<string, string> = {
    KG_LISTEN: `127.0.0.1:${port}`,
    KG_GATEWAY_TOKENS: token,
    KUBECONFIG: opts.kubeconfig,
    KG_LOG_LEVEL: "warn",
  };
  if (opts.prometheusUrl) env.KG_PROMETHEUS_URL = opts.prometheusUrl;
  if (opts.observerUrls?.length) env.KG_OBSERVER_URLS = opts.observerUrls.join(",");
  const child = launch(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "src/gateway/main.ts")],
    logPath,
    env,
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("gateway", child, logPath, 60_000, () => httpOk(`${url}/readyz`));
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, token, logPath, env, stop };
}
