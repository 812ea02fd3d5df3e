// Stand-in images for what no registry can give this machine (ADR 0072), built
// into the test's own engine and named as substitutes everywhere: each is
// tagged kg-standin/<name>:<key> and labelled "stand-in … NOT …".
//
// Bases our Dockerfiles build FROM (found by reading their FROM lines; each is
// also tagged with the upstream name inside the test's engine only, since the
// classic builder resolves FROM by tag):
//   debian:12.11-slim           Debian 12 minbase from deb.debian.org (debootstrap)
//   rust:1.95.0-bookworm        that + the packages observer/Dockerfile installs, this
//                               machine's Rust 1.95.0 toolchain and the observer's crates
//                               vendored (no crates.io inside the engine)
//   node:20.20.2-bookworm-slim  that + this machine's node 20.20.2 and npm, with an npm
//                               cache of package-lock.json and offline=true (no registry)
// Images the compose file runs (replaced by the test's override file):
//   k3s           tests/env/engine/standins/k3s.sh: the real etcd and kube-apiserver
//                 built by scripts/setup.sh, started from k3s' server flags
//   prometheus    Debian's prometheus 2.42.0 package binary, busybox wget (as upstream's image)
//   alertmanager  Debian's prometheus-alertmanager 0.25.0 binary, busybox wget
//   grafana-view  NOT Grafana: Debian + busybox under Grafana's uid 472, holding the
//                 grafana service's mounts and environment for the test to inspect
// No stand-in apt has a source: packages are installed when the rootfs is made,
// and a Dockerfile's `apt-get update` then finds nothing to fetch.
import { execFile, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import {
  chmod,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { kubeBinaries, REPO_ROOT } from "../../../src/local/runtime/binaries.ts";
import { parseDockerfile } from "../dockerfile.ts";
import { streamErrors, type EngineApi } from "./api.ts";

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE = join(process.env.KG_CACHE ?? "/var/cache/kernel-gossip", "standins");
const MIRROR = "http://deb.debian.org/debian";
const SUITE = "bookworm";
/** What observer/Dockerfile apt-installs, plus what rust:*-bookworm carries for linking. */
const RUST_PACKAGES = [
  "ca-certificates",
  "gcc",
  "libc6-dev",
  "clang",
  "llvm",
  "libbpf-dev",
  "bpftool",
  "libelf-dev",
  "zlib1g-dev",
  "pkg-config",
  "make",
];
const RUST_TOOLCHAIN = "1.95.0-x86_64-unknown-linux-gnu";
const GRAFANA_UID = 472; // the uid grafana/grafana runs as
// Files of Debian's packages the binaries read at run time (web UI, notification templates).
const PROMETHEUS_SHARE = "/usr/share/prometheus/web";
const ALERTMANAGER_SHARE = "/usr/share/prometheus/alertmanager";

export interface StandIns {
  /** kg-standin/* references the override file names (env for compose). */
  env: Record<string, string>;
  /** Every stand-in: reference, what it stands in for, and how long it took (0 = cached). */
  built: { ref: string; standsInFor: string; seconds: number }[];
}

const sha = (...parts: (string | Buffer)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 12);
};

async function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  try {
    return (await run(cmd, args, { ...opts, maxBuffer: 256 << 20 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${(e.stderr ?? e.message).slice(-2000)}`, {
      cause: err,
    });
  }
}

/** A Debian rootfs made by debootstrap, cached as a tarball; apt left without sources. */
export async function debootstrapTar(name: string, include: string[]): Promise<string> {
  const key = sha(SUITE, MIRROR, include.join(","));
  const tar = join(CACHE, `${name}-${SUITE}-${key}.tar`);
  if (existsSync(tar)) return tar;
  await mkdir(join(CACHE, "debs"), { recursive: true });
  const dir = await mkdtemp(join(tmpdir(), `kg-standin-${name}-`));
  try {
    await sh("debootstrap", [
      "--variant=minbase",
      ...(include.length ? [`--include=${include.join(",")}`] : []),
      `--cache-dir=${join(CACHE, "debs")}`,
      SUITE,
      dir,
      MIRROR,
    ]);
    await rm(join(dir, "var/lib/apt/lists"), { recursive: true, force: true });
    await mkdir(join(dir, "var/lib/apt/lists/partial"), { recursive: true });
    await writeFile(
      join(dir, "etc/apt/sources.list"),
      "# kernel-gossip stand-in: no archive is reachable inside the test engine\n",
    );
    await rm(join(dir, "etc/apt/sources.list.d"), { recursive: true, force: true });
    await chmod(dir, 0o755);
    const partial = `${tar}.partial.${String(process.pid)}`;
    await sh("tar", ["--numeric-owner", "-C", dir, "-cf", partial, "."]);
    await rename(partial, tar);
    return tar;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The Debian root filesystems the stand-ins start from, fetched from deb.debian.org
 * (scripts/setup.sh calls this through ./prefetch.ts, so the test needs no network).
 */
export async function standInRoots(): Promise<string[]> {
  return [
    await debootstrapTar("debian-minbase", []),
    await debootstrapTar("debian-rust", RUST_PACKAGES),
  ];
}

const exists = async (api: EngineApi, ref: string) =>
  (await api.call("GET", `/images/${encodeURIComponent(ref)}/json`)).status === 200;

/** Imports directory `root` as image `ref` with Dockerfile-style `changes` (ENV, LABEL, …). */
async function importDir(
  api: EngineApi,
  root: string,
  ref: string,
  changes: string[],
): Promise<void> {
  const [repo, tag] = ref.split(":");
  const q = new URLSearchParams({ fromSrc: "-", repo: repo ?? "", tag: tag ?? "" });
  for (const c of changes) q.append("changes", c);
  const tar = spawn("tar", ["--numeric-owner", "-C", root, "-c", "."], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  tar.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => tar.once("close", r));
  const r = await api.call("POST", `/images/create?${q.toString()}`, tar.stdout);
  const code = await exited;
  const errors = streamErrors(r.text);
  if (r.status !== 200 || errors.length || code !== 0) {
    throw new Error(
      `importing ${ref}: ${String(r.status)} ${errors.length ? errors.join("; ") : r.text} ${err}`,
    );
  }
}

async function tag(api: EngineApi, ref: string, as: string): Promise<void> {
  const [repo, t] = as.split(":");
  const r = await api.call(
    "POST",
    `/images/${encodeURIComponent(ref)}/tag?${new URLSearchParams({ repo: repo ?? "", tag: t ?? "" }).toString()}`,
  );
  if (r.status !== 201) throw new Error(`tagging ${ref} as ${as}: ${String(r.status)} ${r.text}`);
}

const labels = (standsInFor: string, what: string) => [
  `LABEL org.opencontainers.image.title="kernel-gossip test stand-in for ${standsInFor}"`,
  `LABEL org.opencontainers.image.description="NOT ${standsInFor}: ${what} (tests/env/engine/standins.ts)"`,
  `LABEL io.kernel-gossip.stand-in-for="${standsInFor}"`,
];

/** Copies a host binary and the shared libraries it needs that `root` lacks. */
async function copyBinary(root: string, from: string, to: string): Promise<void> {
  await mkdir(join(root, dirname(to)), { recursive: true });
  await copyFile(from, join(root, to));
  await chmod(join(root, to), 0o755);
  const ldd = await sh("ldd", [from]).catch(() => "");
  for (const m of ldd.matchAll(/(\/\S+)\s+\(0x/g)) {
    const lib = m[1] ?? "";
    if (!lib || existsSync(join(root, lib))) continue;
    await mkdir(join(root, dirname(lib)), { recursive: true });
    await copyFile(lib, join(root, lib));
  }
}

async function busybox(root: string, applets: string[]): Promise<void> {
  await copyBinary(root, "/bin/busybox", "/bin/busybox");
  for (const a of applets) {
    if (!existsSync(join(root, "bin", a)) && !existsSync(join(root, "usr/bin", a)))
      await symlink("busybox", join(root, "bin", a));
  }
}

interface Spec {
  name: string;
  standsInFor: string;
  what: string;
  /** Everything the image is made from, for its cache key. */
  inputs: (string | Buffer)[];
  base: () => Promise<string>;
  fill?: (root: string) => Promise<void>;
  changes: string[];
}

async function build(api: EngineApi, spec: Spec): Promise<{ ref: string; seconds: number }> {
  // Keyed by what makes this image (its recipe, base and inputs), not by this whole file,
  // so changing one stand-in does not rebuild the others and the layers built on them.
  const recipe = [spec.fill?.toString() ?? "", spec.base.toString(), spec.what, ...spec.changes];
  const ref = `kg-standin/${spec.name}:${sha(...recipe, ...spec.inputs)}`;
  if (await exists(api, ref)) return { ref, seconds: 0 };
  const started = Date.now();
  const baseTar = await spec.base();
  const root = await mkdtemp(join(tmpdir(), `kg-standin-${spec.name}-`));
  try {
    await sh("tar", ["--numeric-owner", "-C", root, "-xf", baseTar]);
    // The image's / is this directory: mkdtemp made it 0700, which no non-root user could traverse.
    await chmod(root, 0o755);
    await spec.fill?.(root);
    await importDir(api, root, ref, [...labels(spec.standsInFor, spec.what), ...spec.changes]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return { ref, seconds: (Date.now() - started) / 1000 };
}

const PATH_ENV = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The observer's crates, vendored from this machine's cargo (crates.io is not reachable in the engine). */
async function vendorCrates(dest: string): Promise<void> {
  const manifest = join(REPO_ROOT, "observer/Cargo.toml");
  const args = ["vendor", "--locked", "--manifest-path", manifest, dest];
  await sh("cargo", ["--offline", ...args]).catch(() => sh("cargo", args));
}

/** An npm cache holding every package of package-lock.json (filled once per lockfile). */
async function npmCache(dest: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "kg-standin-npm-"));
  try {
    for (const f of ["package.json", "package-lock.json"])
      await copyFile(join(REPO_ROOT, f), join(work, f));
    await sh(
      "npm",
      [
        "ci",
        "--cache",
        dest,
        "--prefer-offline",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
      ],
      { cwd: work },
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function baseSpecs(): Record<"debian" | "rust" | "node", Spec> {
  const base = () => debootstrapTar("debian-minbase", []);
  const toolchain = join(process.env.RUSTUP_HOME ?? "/root/.rustup", "toolchains", RUST_TOOLCHAIN);
  const node = readFileSync("/usr/bin/node");
  const npmDir = "/usr/lib/node_modules/npm";
  return {
    debian: {
      name: "debian",
      standsInFor: "debian:12.11-slim",
      what: `Debian ${SUITE} minbase from ${MIRROR} (debootstrap)`,
      inputs: [SUITE, MIRROR],
      base,
      changes: ['CMD ["bash"]', PATH_ENV],
    },
    rust: {
      name: "rust",
      standsInFor: "rust:1.95.0-bookworm",
      what: `Debian ${SUITE} minbase with ${RUST_PACKAGES.join(" ")}; this machine's Rust ${RUST_TOOLCHAIN}; the observer's crates vendored`,
      inputs: [
        RUST_PACKAGES.join(","),
        RUST_TOOLCHAIN,
        readFileSync(join(REPO_ROOT, "observer/Cargo.lock")),
      ],
      base: () => debootstrapTar("debian-rust", RUST_PACKAGES),
      fill: async (root) => {
        for (const d of ["bin", "lib", "libexec"])
          await cp(join(toolchain, d), join(root, "usr/local/rust", d), { recursive: true });
        const cargo = join(root, "usr/local/cargo");
        await vendorCrates(join(cargo, "vendor"));
        await writeFile(
          join(cargo, "config.toml"),
          `# kernel-gossip stand-in: crates come from the vendored copy, never the network.\n` +
            `[source.crates-io]\nreplace-with = "vendored"\n[source.vendored]\ndirectory = "/usr/local/cargo/vendor"\n[net]\noffline = true\n`,
        );
      },
      changes: [
        "ENV CARGO_HOME=/usr/local/cargo",
        "ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        'CMD ["bash"]',
      ],
    },
    node: {
      name: "node",
      standsInFor: "node:20.20.2-bookworm-slim",
      what: `Debian ${SUITE} minbase with this machine's node and npm; npm cache of package-lock.json, offline`,
      inputs: [
        node,
        readFileSync(join(npmDir, "package.json")),
        readFileSync(join(REPO_ROOT, "package-lock.json")),
      ],
      base,
      fill: async (root) => {
        await copyBinary(root, "/usr/bin/node", "/usr/local/bin/node");
        await cp(npmDir, join(root, "usr/local/lib/node_modules/npm"), { recursive: true });
        await symlink("../lib/node_modules/npm/bin/npm-cli.js", join(root, "usr/local/bin/npm"));
        await symlink("../lib/node_modules/npm/bin/npx-cli.js", join(root, "usr/local/bin/npx"));
        const cache = "/usr/local/share/kg-npm-cache";
        await npmCache(join(root, cache));
        await mkdir(join(root, "usr/local/etc"), { recursive: true });
        await writeFile(
          join(root, "usr/local/etc/npmrc"),
          `# kernel-gossip stand-in: no registry is reachable inside the test engine.\ncache=${cache}\noffline=true\n`,
        );
      },
      changes: ['CMD ["node"]', PATH_ENV],
    },
  };
}

function runtimeSpecs(): Record<"k3s" | "prometheus" | "alertmanager" | "grafanaView", Spec> {
  const base = () => debootstrapTar("debian-minbase", []);
  const kube = kubeBinaries();
  const etcd = kube.etcd;
  const k3sScript = readFileSync(join(HERE, "standins/k3s.sh"));
  const viewScript = readFileSync(join(HERE, "standins/grafana-view.sh"));
  const dpkgVersion = (p: string) =>
    execFileSync("dpkg-query", ["-W", "-f=${Version}", p], { encoding: "utf8" });
  const nobodyDir = async (root: string, dir: string) => {
    await mkdir(join(root, dir), { recursive: true });
    await sh("chown", ["65534:65534", join(root, dir)]);
  };
  return {
    k3s: {
      name: "k3s",
      standsInFor: "rancher/k3s:v1.35.4-k3s1",
      what: "the real etcd and kube-apiserver built by scripts/setup.sh, started by a script reading k3s' server flags",
      inputs: [k3sScript, etcd, kube.kubeApiserver, kube.kubectl],
      base,
      fill: async (root) => {
        await copyBinary(root, etcd, "/usr/local/bin/etcd");
        await copyBinary(root, kube.kubeApiserver, "/usr/local/bin/kube-apiserver");
        await copyBinary(root, kube.kubectl, "/bin/kubectl");
        await copyBinary(root, "/usr/bin/openssl", "/usr/bin/openssl");
        await mkdir(join(root, "usr/lib/ssl"), { recursive: true });
        await copyFile("/usr/lib/ssl/openssl.cnf", join(root, "usr/lib/ssl/openssl.cnf"));
        await writeFile(join(root, "bin/k3s"), k3sScript, { mode: 0o755 });
      },
      changes: ['ENTRYPOINT ["/bin/k3s"]', 'CMD ["server"]', PATH_ENV],
    },
    prometheus: {
      name: "prometheus",
      standsInFor: "prom/prometheus:v2.42.0",
      what: `Debian's prometheus ${dpkgVersion("prometheus")} package binary and busybox wget`,
      inputs: [readFileSync("/usr/bin/prometheus"), readFileSync("/bin/busybox")],
      base,
      fill: async (root) => {
        await copyBinary(root, "/usr/bin/prometheus", "/bin/prometheus");
        await cp(PROMETHEUS_SHARE, join(root, PROMETHEUS_SHARE), { recursive: true });
        await copyBinary(root, "/usr/bin/promtool", "/bin/promtool");
        await busybox(root, ["wget"]);
        await mkdir(join(root, "etc/prometheus"), { recursive: true });
        await nobodyDir(root, "prometheus");
      },
      changes: [
        'ENTRYPOINT ["/bin/prometheus"]',
        'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]',
        "WORKDIR /prometheus",
        "USER 65534:65534",
        "EXPOSE 9090",
      ],
    },
    alertmanager: {
      name: "alertmanager",
      standsInFor: "prom/alertmanager:v0.25.0",
      what: `Debian's prometheus-alertmanager ${dpkgVersion("prometheus-alertmanager")} package binary and busybox wget`,
      inputs: [readFileSync("/usr/bin/prometheus-alertmanager"), readFileSync("/bin/busybox")],
      base,
      fill: async (root) => {
        await copyBinary(root, "/usr/bin/prometheus-alertmanager", "/bin/alertmanager");
        // Debian's build reads its notification templates from here, not from the binary.
        await cp(ALERTMANAGER_SHARE, join(root, ALERTMANAGER_SHARE), { recursive: true });
        await copyBinary(root, "/usr/bin/amtool", "/bin/amtool");
        await busybox(root, ["wget"]);
        await mkdir(join(root, "etc/alertmanager"), { recursive: true });
        await nobodyDir(root, "alertmanager");
      },
      changes: [
        'ENTRYPOINT ["/bin/alertmanager"]',
        'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]',
        "WORKDIR /alertmanager",
        "USER 65534:65534",
        "EXPOSE 9093",
      ],
    },
    grafanaView: {
      name: "grafana-view",
      standsInFor: "grafana/grafana:13.2.3",
      what: `a shell that holds the grafana service's mounts and environment under uid ${String(GRAFANA_UID)}; serves nothing`,
      inputs: [viewScript, readFileSync("/bin/busybox")],
      base,
      fill: async (root) => {
        await busybox(root, ["wget"]);
        await writeFile(join(root, "usr/local/bin/grafana-view"), viewScript, { mode: 0o755 });
        const passwd = join(root, "etc/passwd");
        await writeFile(
          passwd,
          `${readFileSync(passwd, "utf8")}grafana:x:${String(GRAFANA_UID)}:0::/usr/share/grafana:/bin/sh\n`,
        );
        for (const d of ["var/lib/grafana", "etc/grafana"]) {
          await mkdir(join(root, d), { recursive: true });
          await sh("chown", [`${String(GRAFANA_UID)}:0`, join(root, d)]);
        }
      },
      changes: [
        'ENTRYPOINT ["/usr/local/bin/grafana-view"]',
        `USER ${String(GRAFANA_UID)}:0`,
        "WORKDIR /usr/share/grafana",
        PATH_ENV,
      ],
    },
  };
}

/** FROM images of our three Dockerfiles that are not their own stages. */
export function dockerfileBases(): string[] {
  const out = new Set<string>();
  for (const f of ["observer/Dockerfile", "src/operator/Dockerfile", "src/gateway/Dockerfile"]) {
    const stages = parseDockerfile(join(REPO_ROOT, f));
    const names = new Set(stages.map((s) => s.name).filter(Boolean));
    for (const s of stages) if (!names.has(s.from)) out.add(s.from);
  }
  return [...out].sort();
}

/** Builds (or finds) every stand-in in the engine and tags the Dockerfile bases. */
export async function standIns(api: EngineApi, log: (l: string) => void): Promise<StandIns> {
  const built: StandIns["built"] = [];
  const one = async (spec: Spec) => {
    const r = await build(api, spec);
    built.push({ ref: r.ref, standsInFor: spec.standsInFor, seconds: r.seconds });
    log(
      `${r.ref} (stand-in for ${spec.standsInFor}) ${r.seconds ? `built in ${r.seconds.toFixed(0)} s` : "cached"}`,
    );
    return r.ref;
  };
  const bases = baseSpecs();
  for (const from of dockerfileBases()) {
    const spec = Object.values(bases).find((s) => s.standsInFor === from);
    if (!spec)
      throw new Error(
        `no stand-in for the Dockerfile base ${from}: add one to tests/env/engine/standins.ts`,
      );
    await tag(api, await one(spec), from);
  }
  const rt = runtimeSpecs();
  return {
    env: {
      KG_STANDIN_K3S: await one(rt.k3s),
      KG_STANDIN_PROMETHEUS: await one(rt.prometheus),
      KG_STANDIN_ALERTMANAGER: await one(rt.alertmanager),
      KG_STANDIN_GRAFANA_VIEW: await one(rt.grafanaView),
    },
    built,
  };
}
