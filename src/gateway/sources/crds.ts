// KernelWhispers and PodBirthCertificates from the Kubernetes API through
// informers (list + watch caches), so queries read memory and never hit the
// API server per request. The client library stops an informer on a watch or
// list error; we restart it with capped exponential backoff, and a restarted
// informer re-lists, so the cache converges after an outage.
import {
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { GROUP, VERSION } from "../../shared/model/meta.ts";
import type { KernelWhisper } from "../../shared/model/kernel-whisper.ts";
import type { PodBirthCertificate } from "../../shared/model/pod-birth-certificate.ts";
import type { ObjectSource, SourceStatus } from "./source.ts";

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault(); // in-cluster service account, then ~/.kube/config
  return kc;
}

export interface InformerOptions {
  onError?: (source: string) => void;
  /** First restart delay; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

type Listener<T> = (kind: "added" | "modified" | "deleted", obj: T) => void;

function createInformerSource<T extends KubernetesObject>(
  kc: KubeConfig,
  plural: string,
  opts: InformerOptions,
): ObjectSource<T> {
  const name = plural;
  const api = kc.makeApiClient(CustomObjectsApi);
  const list = () =>
    api.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<
      KubernetesListObject<T>
    >;
  const informer = makeInformer<T>(kc, `/apis/${GROUP}/${VERSION}/${plural}`, list);
  const listeners = new Set<Listener<T>>();
  let synced = false;
  let stopped = false;
  let errors = 0;
  let lastError: string | undefined;
  let backoff = opts.backoffMs ?? 500;
  let timer: NodeJS.Timeout | undefined;
  const cache = new Map<string, T>();
  const key = (o: T) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  let snapshot: T[] | undefined;

  const emit = (kind: "added" | "modified" | "deleted", obj: T) => {
    snapshot = undefined;
    if (kind === "deleted") cache.delete(key(obj));
    else cache.set(key(obj), obj);
    if (!synced) return; // the initial list is state, not news
    for (const fn of listeners) fn(kind, obj);
  };
  informer.on("add", (o) => emit("added", o));
  informer.on("update", (o) => emit("modified", o));
  informer.on("delete", (o) => emit("deleted", o));
  informer.on("error", (err: unknown) => {
    errors++;
    lastError = err instanceof Error ? err.message : JSON.stringify(err);
    opts.onError?.(name);
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void start(), backoff);
    backoff = Math.min(backoff * 2, opts.maxBackoffMs ?? 30_000);
  });

  async function start(): Promise<void> {
    const before = errors;
    await informer.start().catch((err: unknown) => {
      errors++;
      lastError = err instanceof Error ? err.message : String(err);
    });
    if (errors === before && !stopped) {
      synced = true;
      lastError = undefined;
      backoff = opts.backoffMs ?? 500;
    }
  }
  void start();

  return {
    name,
    status(): SourceStatus {
      if (lastError) {
        return { name, state: synced ? "degraded" : "starting", message: lastError };
      }
      return synced
        ? { name, state: "ready", message: `${cache.size} objects cached` }
        : { name, state: "starting" };
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await informer.stop();
    },
    list() {
      snapshot ??= [...cache.values()];
      return snapshot;
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

export const createWhisperSource = (kc: KubeConfig, opts: InformerOptions = {}) =>
  createInformerSource<KernelWhisper & KubernetesObject>(kc, "kernelwhispers", opts);

export const createBirthSource = (kc: KubeConfig, opts: InformerOptions = {}) =>
  createInformerSource<PodBirthCertificate & KubernetesObject>(kc, "podbirthcertificates", opts);
