// Wires sources to the app from a configuration: the one place that decides
// Prometheus vs direct observers. main.ts and the tests both start the gateway
// through startGateway(), so tests exercise exactly what runs in production.
import type { FastifyInstance } from "fastify";
import type { GatewayConfig } from "./config.ts";
import { allSources, type GatewayContext, type Sources } from "./queries/context.ts";
import { buildGateway } from "./server.ts";
import { createBirthSource, createWhisperSource, loadKubeConfig } from "./sources/crds.ts";
import { createObserverDirectSource } from "./sources/observer-direct.ts";
import { createObserverEvents } from "./sources/observer-events.ts";
import { startWhisperForwarder } from "./otlp/forward.ts";
import { deltaGauges, otlpSignals } from "./otlp/signals.ts";
import { createOtlpStore } from "./otlp/store.ts";
import { createPixieSource } from "./sources/pixie.ts";
import { createPrometheusSource } from "./sources/prometheus.ts";
import type { CacheOutcome } from "./sources/query-cache.ts";
import { createTelemetry } from "./telemetry.ts";

export interface RunningGateway {
  app: FastifyInstance;
  url: string;
  ctx: GatewayContext;
  /** Runs the Pixie whisper forwarder once now (tests); undefined when forwarding is off. */
  forwardNow: (() => Promise<void>) | undefined;
  close(): Promise<void>;
}

export function createSources(
  config: GatewayConfig,
  onError: (source: string) => void,
  onDuration?: (source: string, seconds: number) => void,
  onCache?: (source: string, outcome: CacheOutcome) => void,
): Sources {
  const kc = loadKubeConfig(config.kubeconfig);
  const signals = config.prometheusUrl
    ? createPrometheusSource({
        url: config.prometheusUrl,
        ...(onDuration ? { onDuration } : {}),
        ...(onCache ? { onCache } : {}),
        scrapeIntervalMs: config.scrapeIntervalMs,
        cache: config.queryCache,
        onError,
      })
    : config.observers.length
      ? createObserverDirectSource({
          observers: config.observers,
          scrapeMs: config.observerScrapeMs,
          retentionMs: config.observerRetentionMs,
          onError,
        })
      : undefined;
  const pixie = createPixieSource(config.pixie);
  return {
    whispers: createWhisperSource(kc, { onError }),
    births: createBirthSource(kc, { onError }),
    pixie,
    otlp: createOtlpStore({
      retentionMs: config.otlp.retentionMs,
      maxSeries: config.otlp.maxSeries,
      deltaGauges: deltaGauges(pixie.scripts),
    }),
    otlpSignals: otlpSignals(pixie.scripts),
    ...(signals ? { signals } : {}),
    ...(config.observers.length ? { events: createObserverEvents(config.observers, onError) } : {}),
  };
}

export async function startGateway(config: GatewayConfig): Promise<RunningGateway> {
  const telemetry = createTelemetry();
  const sources = createSources(
    config,
    (source) => telemetry.sourceErrors.inc({ source }),
    (source, seconds) => telemetry.sourceLatency.observe({ source }, seconds),
    (source, outcome) => telemetry.sourceCache.inc({ source, outcome }),
  );
  telemetry.cacheSize("kernelwhispers", () => sources.whispers.list().length);
  telemetry.cacheSize("podbirthcertificates", () => sources.births.list().length);
  const ctx: GatewayContext = { config, sources, telemetry };
  const forwarder = config.whisperForward
    ? startWhisperForwarder({
        cfg: config.whisperForward,
        catalogue: sources.otlpSignals,
        store: sources.otlp,
        onOutcome: (outcome) => telemetry.pixieForwards.inc({ outcome }),
        log: (msg) => {
          if (config.logLevel !== "silent") console.error(msg);
        },
      })
    : undefined;
  const stopSources = () => {
    forwarder?.stop();
    return Promise.all(allSources(sources).map((s) => s.stop()));
  };
  try {
    const app = await buildGateway(ctx);
    const address = await app.listen({ host: config.host, port: config.port });
    return {
      app,
      url: address.replace("[::1]", "127.0.0.1"),
      ctx,
      forwardNow: forwarder?.tick,
      async close() {
        await app.close();
        await stopSources();
      },
    };
  } catch (err) {
    await stopSources();
    throw err;
  }
}
