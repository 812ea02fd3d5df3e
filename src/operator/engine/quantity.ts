// Kubernetes resource quantities ("500m", "1.5", "256Mi", "1G") to numbers and
// back, for the few forms CPU and memory limits take in practice.

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, m: 1e-3 };

/** Parses a quantity to its base unit (cores for CPU, bytes for memory); undefined if malformed. */
export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === "number") return q;
  const m = /^([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P|m)?$/.exec(q.trim());
  if (!m?.[1]) return undefined;
  const n = Number(m[1]);
  const suffix = m[2];
  if (!suffix) return n;
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? NaN);
}

/** CPU cores as a Kubernetes quantity, rounded up to whole millicores. */
export function formatCpu(cores: number): string {
  const milli = Math.ceil(cores * 1000 - 1e-9);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Bytes as a Kubernetes quantity, rounded up to whole MiB. */
export function formatMemory(bytes: number): string {
  const mib = Math.ceil(bytes / 2 ** 20 - 1e-9);
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}
