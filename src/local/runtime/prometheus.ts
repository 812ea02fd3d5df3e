// A real Prometheus (Debian's /usr/bin/prometheus) for tests, benchmarks and
// the local run: a free loopback port, a temp dir for config and TSDB, started
// under setpriv --pdeathsig like every child here, ready when /-/ready says so.
//
//   const prom = await startPrometheus({ scrapeTargets: [observer.url] });
//   … fetch(`${prom.url}/api/v1/query?query=up`) …
//   await prom.stop(); // SIGTERM, then removes the temp dir
//
// Targets are URLs ("http://127.0.0.1:9464", path defaults to /metrics) or
// { url, labels } to attach target labels (e.g. { node: "node-a" }). Rule
// files are copied into the temp dir; alertmanagerUrl wires alert delivery.
import { mkdtemp, rm, writeFile, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import { freePort } from "./cluster.ts";
import { httpOk, launch, stopChild, waitFor } from "./process.ts";

export const PROMETHEUS_BIN = process.env.KG_PROMETHEUS_BIN ?? "/usr/bin/prometheus";

export type ScrapeTarget = string | { url: string; labels?: Record<string, string> };

export interface PrometheusOptions {
  /** What to scrape: one job per target, named target-0, target-1, … */
  scrapeTargets: ScrapeTarget[];
  /** Scrape and rule evaluation interval (Prometheus duration), default "1s". */
  scrapeInterval?: string;
  /** Rule files (paths); copied next to the generated config. */
  ruleFiles?: string[];
  /** Alertmanager base URL, e.g. "http://127.0.0.1:9093". */
  alertmanagerUrl?: string;
  /** Adds --web.enable-lifecycle (POST /-/reload, /-/quit). */
  enableLifecycle?: boolean;
}

export interface Prometheus {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  /** The temp dir holding prometheus.yml, the TSDB and prometheus.log. */
  dir: string;
  logPath: string;
  stop: () => Promise<void>;
}

function staticTarget(u: URL) {
  return {
    scheme: u.protocol.replace(":", ""),
    metrics_path: u.pathname === "/" ? "/metrics" : u.pathname,
    target: u.host,
  };
}

export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), "kernel-gossip-prometheus-"));
  const port = await freePort();
  const interval = opts.scrapeInterval ?? "1s";
  const ruleFiles: string[] = [];
  for (const [i, f] of (opts.ruleFiles ?? []).entries()) {
    const dest = join(dir, `rules-${i}-${basename(f)}`);
    await copyFile(f, dest);
    ruleFiles.push(dest);
  }
  const config: Record<string, unknown> = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    scrape_configs: opts.scrapeTargets.map((t, i) => {
      const { url, labels } = typeof t === "string" ? { url: t, labels: undefined } : t;
      const s = staticTarget(new URL(url));
      return {
        job_name: `target-${i}`,
        scheme: s.scheme,
        metrics_path: s.metrics_path,
        static_configs: [{ targets: [s.target], ...(labels ? { labels } : {}) }],
      };
    }),
  };
  if (ruleFiles.length) config.rule_files = ruleFiles;
  if (opts.alertmanagerUrl) {
    const am = new URL(opts.alertmanagerUrl);
    config.alerting = {
      alertmanagers: [
        {
          scheme: am.protocol.replace(":", ""),
          path_prefix: am.pathname,
          static_configs: [{ targets: [am.host] }],
        },
      ],
    };
  }
  const configPath = join(dir, "prometheus.yml");
  await writeFile(configPath, stringify(config));
  const logPath = join(dir, "prometheus.log");
  const args = [
    `--config.file=${configPath}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ];
  if (opts.enableLifecycle) args.push("--web.enable-lifecycle");
  const child = launch(PROMETHEUS_BIN, args, logPath);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("prometheus", child, logPath, 60_000, () => httpOk(`${url}/-/ready`));
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, dir, logPath, stop };
}
