// Bounded retention for orphan certificates (written after their Pod was
// gone, so no owner reference lets the garbage collector remove them). Pure:
// given the orphans, which to delete — every one older than maxAge, and per
// namespace the oldest beyond maxPerNamespace.
import type { PodBirthCertificate } from "../../shared/model/pod-birth-certificate.ts";

export interface Retention {
  /** Orphans older than this are deleted; 0 keeps them regardless of age. */
  maxAgeMs: number;
  /** Newest orphans kept per namespace; 0 means no count limit. */
  maxPerNamespace: number;
  /** How often the leader sweeps. */
  sweepIntervalMs: number;
}

export const DEFAULT_RETENTION: Retention = {
  maxAgeMs: 24 * 60 * 60_000,
  maxPerNamespace: 100,
  sweepIntervalMs: 60_000,
};

export interface Doomed {
  namespace: string;
  name: string;
  uid?: string;
  reason: "age" | "count";
}

// The certificate's own age (creation), not the birth's: an orphan written late
// for an old birth still gets its full retention.
const bornAt = (c: PodBirthCertificate) =>
  Date.parse(c.metadata.creationTimestamp ?? c.spec.startTime) || 0;

export function orphansToDelete(
  orphans: readonly PodBirthCertificate[],
  r: Pick<Retention, "maxAgeMs" | "maxPerNamespace">,
  now: Date,
): Doomed[] {
  const doomed: Doomed[] = [];
  const byNamespace = new Map<string, PodBirthCertificate[]>();
  const doom = (c: PodBirthCertificate, reason: Doomed["reason"]) =>
    doomed.push({
      namespace: c.metadata.namespace ?? "",
      name: c.metadata.name ?? "",
      ...(c.metadata.uid ? { uid: c.metadata.uid } : {}),
      reason,
    });
  for (const c of orphans) {
    if (r.maxAgeMs > 0 && now.getTime() - bornAt(c) > r.maxAgeMs) {
      doom(c, "age");
      continue;
    }
    const ns = c.metadata.namespace ?? "";
    byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), c]);
  }
  if (r.maxPerNamespace > 0) {
    for (const list of byNamespace.values()) {
      // Newest first (creationTimestamp has whole seconds: ties by birth, then name).
      list.sort(
        (a, b) =>
          bornAt(b) - bornAt(a) ||
          Date.parse(b.spec.startTime) - Date.parse(a.spec.startTime) ||
          (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
      );
      for (const c of list.slice(r.maxPerNamespace)) doom(c, "count");
    }
  }
  return doomed;
}
