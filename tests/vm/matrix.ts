// The kernel matrix the VM harness boots (ADR 0060): one Debian cloud kernel per
// line, "newest in the suite" resolved at setup time, and where everything the
// harness caches lives. Shared by the fetcher (kernels.ts), the root builder and
// the runner, so a cache path is computed in exactly one place.
import { join } from "node:path";

export const CACHE = process.env.KG_CACHE ?? "/var/cache/kernel-gossip";
/** Everything the VM harness caches: kernels, private apt state, root layers. */
export const VM_CACHE = join(CACHE, "vm");
export const MIRROR = process.env.KG_DEBIAN_MIRROR ?? "http://deb.debian.org";

export interface KernelLine {
  /** What a person types: `./kg vm 6.1`. */
  id: string;
  suite: string;
  /** apt sources for this line only; the newest cloud kernel among them wins. */
  sources: string[];
  /** The resolved kernel release must start with this (guards a suite moving on). */
  release: string;
}

const debian = (suite: string) => `deb ${MIRROR}/debian ${suite} main`;
const security = (suite: string) => `deb ${MIRROR}/debian-security ${suite}-security main`;

export const MATRIX: KernelLine[] = [
  {
    id: "5.10",
    suite: "bullseye",
    sources: [debian("bullseye"), security("bullseye")],
    release: "5.10.",
  },
  {
    id: "6.1",
    suite: "bookworm",
    sources: [debian("bookworm"), debian("bookworm-updates"), security("bookworm")],
    release: "6.1.",
  },
  {
    id: "6.12",
    suite: "trixie",
    sources: [debian("trixie"), debian("trixie-updates"), security("trixie")],
    release: "6.12.",
  },
  // Debian's newest kernel: whatever sid serves today (7.2 on 2026-12-06).
  { id: "sid", suite: "sid", sources: [debian("sid")], release: "" },
];

/** What setup resolved and extracted for one line (`<VM_CACHE>/lines/<id>.json`). */
export interface ResolvedKernel {
  id: string;
  suite: string;
  /** `uname -r` in the guest, e.g. 6.1.0-41-cloud-amd64. */
  release: string;
  /** The Debian packages it came from, name=version. */
  packages: string[];
  /** Cache dir holding vmlinuz, config, modules/ (published by rename). */
  dir: string;
  resolvedAt: string;
}

export const lineFile = (id: string) => join(VM_CACHE, "lines", `${id}.json`);

export function findLine(id: string): KernelLine | undefined {
  return MATRIX.find((l) => l.id === id || l.suite === id);
}
