// Which observers to stream from: fixed URLs (local runs), or the ready
// endpoints of the observer Service's EndpointSlices (in a cluster), re-read
// periodically. Addresses come only from the API server or configuration —
// never from a webhook body.
import type { Kube } from "../kube.ts";
import type { Log } from "../log.ts";
import { observerStream, type ObserverStream, type StreamDeps } from "./stream.ts";

export interface DiscoveryConfig {
  urls: string[];
  service?: string;
  namespace: string;
  refreshMs: number;
}

export function observerSet(cfg: DiscoveryConfig, kube: Kube, streamDeps: StreamDeps, log: Log) {
  const streams = new Map<string, ObserverStream>();
  let timer: NodeJS.Timeout | undefined;

  const reconcile = (want: string[]) => {
    for (const url of want) if (!streams.has(url)) streams.set(url, observerStream(url, streamDeps));
    for (const [url, s] of streams) {
      if (!want.includes(url)) {
        s.stop();
        streams.delete(url);
      }
    }
  };

  const refresh = async () => {
    if (!cfg.service) return;
    try {
      const urls = await kube.listObserverEndpoints(cfg.namespace, cfg.service);
      reconcile([...cfg.urls, ...urls]);
    } catch (err) {
      log.warn({ err: String(err) }, "observer discovery failed; keeping current streams");
    }
  };

  return {
    start() {
      reconcile(cfg.urls);
      if (cfg.service) {
        void refresh();
        timer = setInterval(() => void refresh(), cfg.refreshMs);
      }
    },
    stop() {
      if (timer) clearInterval(timer);
      reconcile([]);
    },
    streams: () => [...streams.values()],
  };
}
