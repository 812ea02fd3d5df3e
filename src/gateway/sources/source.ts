// The one interface every source implements, plus the capabilities of each
// kind. Handlers talk only to these types: which module backs the signals
// (Prometheus or the observers directly) is decided once, in gateway.ts.
import type { KernelWhisper } from "../../shared/model/kernel-whisper.ts";
import type { PodBirthCertificate } from "../../shared/model/pod-birth-certificate.ts";
import type { Recipe } from "../../shared/signals/catalogue.ts";
import type { ScriptDef } from "../../pixie/manifest.ts";
import type { ScriptResult } from "../pixie/tables.ts";

export type SourceState = "ready" | "starting" | "degraded" | "disabled";

export interface SourceStatus {
  name: string;
  state: SourceState;
  /** Why it is not ready (last error), or what it is connected to. */
  message?: string;
}

/** Common to all sources: a name for errors and metrics, a state for /readyz, a stop. */
export interface Source {
  readonly name: string;
  status(): SourceStatus;
  stop(): Promise<void>;
}

/** Label filters; each lists the accepted values (empty or absent = any). */
export interface Filters {
  namespace?: string[];
  pod?: string[];
  container?: string[];
  node?: string[];
  cgroup?: string[];
}

/** One time series: its labels and the points that exist (gaps are absent rows). */
export interface Series {
  labels: Record<string, string>;
  /** Unix milliseconds, ascending. */
  times: number[];
  values: number[];
}

export interface Increase {
  metric: string;
  labels: Record<string, string>;
  increase: number | undefined;
}

/** Raw scraped samples of one metric series, as they were stored. */
export type RawSeries = Series & { metric: string };

export interface RangeRequest {
  fromMs: number;
  toMs: number;
  stepMs: number;
}

/** How a derived signal is computed from observer metrics: the catalogue's (ADR 0100). */
export type { Recipe };

export interface SignalSource extends Source {
  /** Series of a derived signal over a range, one value per step where data exists. */
  evaluate(recipe: Recipe, filters: Filters, range: RangeRequest): Promise<Series[]>;
  /** Raw samples of the given metrics in (fromMs, toMs]: exact counter values, no extrapolation. */
  samples(metrics: string[], filters: Filters, fromMs: number, toMs: number): Promise<RawSeries[]>;
  /**
   * Per series of each counter: last minus first reading in (fromMs, toMs],
   * undefined with fewer than two readings or (Prometheus) a reset in between.
   * Cheaper than samples() for many series (histogram buckets).
   */
  increases(metrics: string[], filters: Filters, fromMs: number, toMs: number): Promise<Increase[]>;
  /** Values of one workload label among the observers' series. */
  labelValues(label: string, filters: Filters): Promise<string[]>;
}

export interface ObjectSource<T> extends Source {
  list(): readonly T[];
  /** Called on every add/update/delete after the initial sync. */
  onChange(fn: (kind: "added" | "modified" | "deleted", obj: T) => void): () => void;
}

export type WhisperSource = ObjectSource<KernelWhisper>;
export type BirthSource = ObjectSource<PodBirthCertificate>;

/** A shipped script by name, or (when the configuration allows) the user's own PxL. */
export interface PixieRunRequest {
  script?: string;
  pxl?: string;
  /** One of the configured cluster ids; default the first. */
  cluster?: string;
}

export interface PixieSource extends Source {
  /** The shipped scripts (src/pixie/scripts/manifest.json), by name. */
  readonly scripts: ReadonlyMap<string, ScriptDef>;
  /** The configured cluster ids (empty when Pixie is not configured). */
  readonly clusterIds: readonly string[];
  /** Runs a script through ExecuteScript over the range; rejects with SourceError. */
  run(req: PixieRunRequest, range: RangeRequest): Promise<ScriptResult>;
}

/** A source failed; `status` is the HTTP-like status reported for that query. */
export class SourceError extends Error {
  constructor(
    readonly source: string,
    message: string,
    readonly status = 502,
  ) {
    super(message);
    this.name = "SourceError";
  }
}
