// A real Prometheus Alertmanager (Debian's prometheus-alertmanager) for tests
// and the local run: one receiver posting to a webhook URL (the operator),
// grouping tuned by the caller, clustering off, loopback only.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort } from "./cluster.ts";
import { httpOk, launch, stopChild, waitFor } from "./process.ts";

export const ALERTMANAGER_BIN =
  process.env.KG_ALERTMANAGER_BIN ?? "/usr/bin/prometheus-alertmanager";

export interface AlertmanagerOptions {
  webhookUrl: string;
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
}

export interface Alertmanager {
  url: string;
  logPath: string;
  stop: () => Promise<void>;
}

export async function startAlertmanager(opts: AlertmanagerOptions): Promise<Alertmanager> {
  const dir = await mkdtemp(join(tmpdir(), "kernel-gossip-alertmanager-"));
  const port = await freePort();
  const config = {
    route: {
      receiver: "kernel-gossip",
      group_by: ["alertname", "namespace", "pod", "cgroup"],
      group_wait: opts.groupWait ?? "1s",
      group_interval: opts.groupInterval ?? "1s",
      repeat_interval: opts.repeatInterval ?? "1h",
    },
    receivers: [
      {
        name: "kernel-gossip",
        webhook_configs: [
          {
            url: opts.webhookUrl,
            send_resolved: true,
            ...(opts.bearerToken
              ? {
                  http_config: { authorization: { type: "Bearer", credentials: opts.bearerToken } },
                }
              : {}),
          },
        ],
      },
    ],
  };
  const configPath = join(dir, "alertmanager.yml");
  await writeFile(configPath, stringify(config));
  const logPath = join(dir, "alertmanager.log");
  const child = launch(
    ALERTMANAGER_BIN,
    [
      `--config.file=${configPath}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=", // no gossip: a single instance
      "--log.level=warn",
    ],
    logPath,
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor("alertmanager", child, logPath, 30_000, () => httpOk(`${url}/-/ready`));
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, logPath, stop };
}
