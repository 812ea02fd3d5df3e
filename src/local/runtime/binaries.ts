// Locates the etcd, kube-apiserver and kubectl binaries that scripts/setup.sh
// built. The cache key must match scripts/lib.sh: version + hash of the
// wrapper module's files (go.mod, go.sum, *.go) concatenated in C-locale order.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CACHE = process.env.KG_CACHE ?? "/var/cache/kernel-gossip";

function versions(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, "scripts/versions.env"), "utf8");
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m?.[1] && m[2]) out[m[1]] = m[2];
  }
  return out;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter(
      (e) => e.isFile() && (e.name.endsWith(".go") || e.name === "go.mod" || e.name === "go.sum"),
    )
    .map((e) => "./" + relative(dir, join(e.parentPath, e.name)));
}

export function moduleHash(dir: string): string {
  const files = listFiles(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const h = createHash("sha256");
  for (const f of files) h.update(readFileSync(join(dir, f)));
  return h.digest("hex").slice(0, 12);
}

export interface KubeBinaries {
  etcd: string;
  kubeApiserver: string;
  kubectl: string;
}

/** Paths of the cached binaries; throws naming the fix when setup has not run. */
export function kubeBinaries(): KubeBinaries {
  const v = versions();
  const etcdDir = join(
    CACHE,
    `etcd-${v.ETCD_VERSION ?? "?"}-${moduleHash(join(REPO_ROOT, "tests/env/etcd-build"))}`,
  );
  const kubeDir = join(
    CACHE,
    `kubernetes-${v.KUBE_VERSION ?? "?"}-${moduleHash(join(REPO_ROOT, "tests/env/kube-build"))}`,
  );
  for (const dir of [etcdDir, kubeDir]) {
    if (!existsSync(join(dir, ".complete"))) {
      throw new Error(`Kubernetes test binaries missing at ${dir}: run scripts/setup.sh first`);
    }
  }
  return {
    etcd: join(etcdDir, "etcd"),
    kubeApiserver: join(kubeDir, "kube-apiserver"),
    kubectl: join(kubeDir, "kubectl"),
  };
}

/** The kubelet, built by setup.sh from its own wrapper module (tests/env/kubelet-build). */
export function kubeletBinary(): string {
  const v = versions();
  const dir = join(
    CACHE,
    `kubelet-${v.KUBE_VERSION ?? "?"}-${moduleHash(join(REPO_ROOT, "tests/env/kubelet-build"))}`,
  );
  if (!existsSync(join(dir, ".complete"))) {
    throw new Error(`kubelet missing at ${dir}: run scripts/setup.sh first`);
  }
  return join(dir, "kubelet");
}

/**
 * A command setup.sh `go install`s at a pinned version (scripts/lib.sh:
 * $KG_CACHE/<name>-<VERSION>/<name>), e.g. goInstalled("helm", "HELM_VERSION").
 */
export function goInstalled(name: string, versionKey: string): string {
  const version = versions()[versionKey];
  if (!version) throw new Error(`${versionKey} missing from scripts/versions.env`);
  const dir = join(CACHE, `${name}-${version}`);
  if (!existsSync(join(dir, ".complete"))) {
    throw new Error(`${name} missing at ${dir}: run scripts/setup.sh first`);
  }
  return join(dir, name);
}

export interface EngineBinaries {
  dockerd: string;
  dockerProxy: string;
  /** The compose CLI plugin (runs standalone too). */
  compose: string;
  dockerVersion: string;
  composeVersion: string;
}

/**
 * Docker Engine's daemon and port proxy (setup.sh go_build from tests/env/dockerd-build)
 * and the compose CLI plugin (go_install), for tests/compose-engine.test.ts (ADR 0070).
 */
export function engineBinaries(): EngineBinaries {
  const v = versions();
  const dockerVersion = v.DOCKER_VERSION ?? "?";
  const composeVersion = v.COMPOSE_VERSION ?? "?";
  const dockerdDir = join(
    CACHE,
    `dockerd-${dockerVersion}-${moduleHash(join(REPO_ROOT, "tests/env/dockerd-build"))}`,
  );
  const composeDir = join(
    CACHE,
    `compose-${composeVersion}-${moduleHash(join(REPO_ROOT, "tests/env/compose-build"))}`,
  );
  for (const dir of [dockerdDir, composeDir]) {
    if (!existsSync(join(dir, ".complete"))) {
      throw new Error(`container engine binaries missing at ${dir}: run scripts/setup.sh first`);
    }
  }
  return {
    dockerd: join(dockerdDir, "dockerd"),
    dockerProxy: join(dockerdDir, "docker-proxy"),
    compose: join(composeDir, "docker-compose"),
    dockerVersion,
    composeVersion,
  };
}
