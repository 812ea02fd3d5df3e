// Derived views of an informer snapshot, computed once per snapshot: the
// sources hand out a new array whenever the cache changes, so a WeakMap keyed
// by that array is invalidated exactly when the data changes, and the hot
// paths (whispers by namespace, variable values) stop scanning every object.
import type { KernelWhisper } from "../../shared/model/kernel-whisper.ts";
import type { PodBirthCertificate } from "../../shared/model/pod-birth-certificate.ts";

function memo<K extends object, V>(build: (k: K) => V): (k: K) => V {
  const cache = new WeakMap<K, V>();
  return (k) => {
    let v = cache.get(k);
    if (v === undefined) cache.set(k, (v = build(k)));
    return v;
  };
}

export const whisperNamespace = (w: KernelWhisper) =>
  w.spec.subject.namespace ?? w.metadata.namespace ?? "";

/** Whispers grouped by the namespace they are about. */
export const whispersByNamespace = memo((all: readonly KernelWhisper[]) => {
  const m = new Map<string, KernelWhisper[]>();
  for (const w of all) {
    const ns = whisperNamespace(w);
    const list = m.get(ns);
    if (list) list.push(w);
    else m.set(ns, [w]);
  }
  return m;
});

/** The candidates for a namespace filter: only those namespaces' whispers, or all. */
export function whisperCandidates(all: readonly KernelWhisper[], namespaces: string[] | undefined) {
  if (!namespaces?.length) return all;
  const idx = whispersByNamespace(all);
  return namespaces.flatMap((ns) => idx.get(ns) ?? []);
}

export interface NameTuple {
  namespace?: string;
  pod?: string;
  container?: string;
  node?: string;
}

/** Distinct (namespace, pod, container, node) tuples named by whispers and births. */
const tuplesOf = <T>(toTuple: (o: T) => NameTuple) =>
  memo((all: readonly T[]) => {
    const seen = new Map<string, NameTuple>();
    for (const o of all) {
      const t = toTuple(o);
      seen.set(
        `${t.namespace ?? ""}\u0000${t.pod ?? ""}\u0000${t.container ?? ""}\u0000${t.node ?? ""}`,
        t,
      );
    }
    return [...seen.values()];
  });

export const whisperTuples = tuplesOf((w: KernelWhisper) => ({
  namespace: whisperNamespace(w),
  pod: w.spec.subject.pod,
  container: w.spec.subject.container,
  node: w.spec.subject.node,
}));

export const birthTuples = tuplesOf((b: PodBirthCertificate) => ({
  namespace: b.spec.subject.namespace,
  pod: b.spec.subject.pod,
  node: b.spec.subject.node,
}));
