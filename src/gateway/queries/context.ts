// What a query handler may use: the configuration and the sources. Built once
// in server.ts; handlers never construct sources themselves.
import type { GatewayConfig } from "../config.ts";
import type { OtlpSignal } from "../otlp/signals.ts";
import type { OtlpStore } from "../otlp/store.ts";
import type { ObserverEvents } from "../sources/observer-events.ts";
import type {
  BirthSource,
  PixieSource,
  SignalSource,
  Source,
  WhisperSource,
} from "../sources/source.ts";
import type { Telemetry } from "../telemetry.ts";

export interface Sources {
  /** Prometheus or the observers directly; absent when neither is configured. */
  signals?: SignalSource;
  whispers: WhisperSource;
  births: BirthSource;
  pixie: PixieSource;
  /** Series pushed to POST /v1/metrics. */
  otlp: OtlpStore;
  /** Which OTLP metrics feed which signal (from the Pixie manifest). */
  otlpSignals: ReadonlyMap<string, OtlpSignal>;
  /** Live observer events for /stream; absent without KG_OBSERVER_URLS. */
  events?: ObserverEvents;
}

export interface GatewayContext {
  config: GatewayConfig;
  sources: Sources;
  telemetry: Telemetry;
}

export function allSources(s: Sources): Source[] {
  const all: (Source | undefined)[] = [s.whispers, s.births, s.signals, s.events, s.pixie, s.otlp];
  return all.filter((x): x is Source => x !== undefined);
}
