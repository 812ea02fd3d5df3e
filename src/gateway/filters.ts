// Filter matching shared by the in-memory sources: a filter lists accepted
// values; an absent or empty list accepts anything.
import type { Filters } from "./sources/source.ts";

export const FILTER_KEYS = ["namespace", "pod", "container", "node", "cgroup"] as const;

export function accepts(values: readonly string[] | undefined, v: string | undefined): boolean {
  return !values?.length || (v !== undefined && values.includes(v));
}

/** True when a label set satisfies every filter. */
export function matchesLabels(labels: Record<string, string>, f: Filters): boolean {
  return FILTER_KEYS.every((k) => accepts(f[k], labels[k]));
}
