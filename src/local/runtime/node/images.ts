// Container images for the test node, built locally because no registry is
// reachable: each is one uncompressed layer in an OCI image layout tarball that
// `ctr images import` understands. Archives are cached outside the repo, keyed
// by a hash of everything that goes into them, so a changed input rebuilds.
//   busybox: Debian's busybox-static with its applets as symlinks.
//   pause:   pause.c (beside this file) compiled with gcc -static.
//   nginx:   Debian's nginx 1.22 binary (apt-get download, never installed on
//            the host) with the shared libraries ldd names, copied from the host.
//   nodejs:  this host's Node.js binary and its libraries, for pods that run the
//            CLI demos' workloads (src/local/scenes); built only when asked for.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const CACHE = join(process.env.KG_CACHE ?? "/var/cache/kernel-gossip", "node-images");
const REGISTRY = "kernel-gossip.local";
const BUSYBOX = "/bin/busybox";

export interface NodeImage {
  /** Fully qualified reference pods use, e.g. kernel-gossip.local/busybox:1.35.0-ab12cd34. */
  ref: string;
  /** OCI layout tarball for `ctr images import`. */
  archive: string;
}

export interface NodeImages {
  busybox: NodeImage;
  pause: NodeImage;
  nginx: NodeImage;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

async function sh(cmd: string, args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${e.stderr ?? e.message}`, { cause: err });
  }
}

/** A deterministic tar of `root` (sorted, mtime 0, root-owned): same input, same digest. */
async function layerTar(root: string, out: string): Promise<void> {
  await sh("tar", [
    "--sort=name",
    "--mtime=@0",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "-C",
    root,
    "-cf",
    out,
    ".",
  ]);
}

interface ImageSpec {
  name: string;
  tag: string;
  entrypoint: string[];
  cmd?: string[];
  /** Fills the root filesystem directory. */
  fill: (root: string) => Promise<void>;
}

/** Writes the OCI layout (index.json, oci-layout, blobs) for one single-layer image and tars it. */
async function ociArchive(spec: ImageSpec, ref: string, out: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), `kg-image-${spec.name}-`));
  try {
    const root = join(work, "rootfs");
    await mkdir(root);
    await spec.fill(root);
    const blobs = join(work, "layout", "blobs", "sha256");
    await mkdir(blobs, { recursive: true });
    const layerPath = join(work, "layer.tar");
    await layerTar(root, layerPath);
    const layer = await readFile(layerPath);
    const layerDigest = sha256(layer);
    await rename(layerPath, join(blobs, layerDigest));

    const blob = async (json: unknown) => {
      const text = JSON.stringify(json);
      const digest = sha256(text);
      await writeFile(join(blobs, digest), text);
      return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
    };
    const config = await blob({
      architecture: "amd64",
      os: "linux",
      config: {
        Entrypoint: spec.entrypoint,
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        WorkingDir: "/",
      },
      rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
      history: [{ created_by: `kernel-gossip tests/env/node/images.ts (${spec.name})` }],
    });
    const manifest = await blob({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar",
          digest: `sha256:${layerDigest}`,
          size: layer.length,
        },
      ],
    });
    const layout = join(work, "layout");
    await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeFile(
      join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            ...manifest,
            annotations: {
              "io.containerd.image.name": ref,
              "org.opencontainers.image.ref.name": spec.tag,
            },
          },
        ],
      }),
    );
    const tmpOut = `${out}.partial.${process.pid}`;
    await layerTar(layout, tmpOut);
    await rename(tmpOut, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Builds (or finds cached) one image; `inputs` are hashed into the cache key and tag. */
async function image(spec: ImageSpec, inputs: (Buffer | string)[]): Promise<NodeImage> {
  const h = createHash("sha256");
  h.update(await readFile(fileURLToPath(import.meta.url)));
  for (const i of inputs) h.update(i);
  const key = h.digest("hex").slice(0, 12);
  const tag = `${spec.tag}-${key}`;
  const ref = `${REGISTRY}/${spec.name}:${tag}`;
  const archive = join(CACHE, `${spec.name}-${tag}.oci.tar`);
  if (!existsSync(archive)) {
    await mkdir(CACHE, { recursive: true });
    await ociArchive({ ...spec, tag }, ref, archive);
  }
  return { ref, archive };
}

async function busyboxApplets(): Promise<string[]> {
  const out = await sh(BUSYBOX, ["--list"]);
  return out.split("\n").filter((a) => /^[\w.[-]+$/.test(a) && a !== "busybox");
}

async function fillBusybox(root: string): Promise<void> {
  const bin = join(root, "bin");
  await mkdir(bin, { recursive: true });
  await copyFile(BUSYBOX, join(bin, "busybox"));
  await chmod(join(bin, "busybox"), 0o755);
  for (const applet of await busyboxApplets()) await symlink("busybox", join(bin, applet));
  for (const d of ["tmp", "etc", "proc", "sys", "dev", "var/www"]) {
    await mkdir(join(root, d), { recursive: true });
  }
  await chmod(join(root, "tmp"), 0o1777);
  await writeFile(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(join(root, "etc/group"), "root:x:0:\n");
}

async function fillPause(root: string, binary: string): Promise<void> {
  await copyFile(binary, join(root, "pause"));
  await chmod(join(root, "pause"), 0o755);
}

const NGINX_CONF = `# kernel-gossip test node: nginx in the foreground, logs to the container's stdio.
daemon off;
worker_processes 1;
error_log /dev/stderr notice;
pid /tmp/nginx.pid;
events { worker_connections 64; }
http {
  access_log /dev/stdout;
  client_body_temp_path /tmp/body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  default_type text/plain;
  server {
    listen 8080;
    location / { return 200 "kernel-gossip nginx\\n"; }
  }
}
`;

/** Downloads Debian's nginx .deb (not installed) into the cache; returns the extracted binary. */
async function nginxBinary(): Promise<{ binary: string; version: string }> {
  const version = (await sh("apt-cache", ["policy", "nginx"])).match(/Candidate:\s*(\S+)/)?.[1];
  if (!version || version === "(none)") throw new Error("apt-cache knows no nginx candidate");
  const dir = join(CACHE, `nginx-deb-${version}`);
  const binary = join(dir, "root/usr/sbin/nginx");
  if (!existsSync(binary)) {
    const work = `${dir}.partial.${process.pid}`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    await sh("apt-get", ["download", "-q", `nginx=${version}`], work);
    const deb = (await readdir(work)).find((f) => f.endsWith(".deb"));
    if (!deb) throw new Error("apt-get download nginx produced no .deb");
    await sh("dpkg-deb", ["-x", join(work, deb), join(work, "root")]);
    await rm(dir, { recursive: true, force: true });
    await rename(work, dir);
  }
  return { binary, version };
}

/** Shared libraries (absolute host paths) that `ldd` resolves for `binary`. */
async function sharedLibs(binary: string): Promise<string[]> {
  const out = await sh("ldd", [binary]);
  return [...out.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1] ?? "").filter(Boolean);
}

async function fillNginx(root: string, binary: string, libs: string[]): Promise<void> {
  for (const d of ["usr/sbin", "etc/nginx", "tmp", "var/log/nginx", "var/lib/nginx", "run"]) {
    await mkdir(join(root, d), { recursive: true });
  }
  await chmod(join(root, "tmp"), 0o1777);
  await copyFile(binary, join(root, "usr/sbin/nginx"));
  await chmod(join(root, "usr/sbin/nginx"), 0o755);
  for (const lib of libs) {
    // Keep the path the dynamic loader expects (e.g. /lib64/ld-linux-x86-64.so.2).
    await mkdir(join(root, dirname(lib)), { recursive: true });
    await copyFile(lib, join(root, lib));
  }
  await writeFile(join(root, "etc/nginx/nginx.conf"), NGINX_CONF);
  // Workers switch to "nobody", which must resolve.
  await writeFile(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
  );
  await writeFile(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
}

/** Builds or reuses the three test images. */
export async function nodeImages(): Promise<NodeImages> {
  const busyboxBin = await readFile(BUSYBOX);
  const bbVersion = /BusyBox v([\d.]+)/.exec(busyboxBin.toString("latin1"))?.[1] ?? "0";
  const busybox = await image(
    {
      name: "busybox",
      tag: bbVersion,
      entrypoint: ["/bin/sh"],
      fill: fillBusybox,
    },
    [busyboxBin, (await busyboxApplets()).join(",")],
  );

  const pauseSrc = join(HERE, "pause.c");
  const gcc = (await sh("gcc", ["--version"])).split("\n")[0] ?? "";
  const pauseBuild = await mkdtemp(join(tmpdir(), "kg-pause-"));
  let pause: NodeImage;
  try {
    const bin = join(pauseBuild, "pause");
    await sh("gcc", ["-static", "-Os", "-s", "-o", bin, pauseSrc]);
    pause = await image(
      { name: "pause", tag: "kg", entrypoint: ["/pause"], fill: (r) => fillPause(r, bin) },
      [await readFile(pauseSrc), gcc],
    );
  } finally {
    await rm(pauseBuild, { recursive: true, force: true });
  }

  const { binary, version } = await nginxBinary();
  const libs = await sharedLibs(binary);
  const nginx = await image(
    {
      name: "nginx",
      tag: version.replace(/[^\w.-]/g, "_"),
      entrypoint: ["/usr/sbin/nginx"],
      cmd: ["-c", "/etc/nginx/nginx.conf"],
      fill: (r) => fillNginx(r, binary, libs),
    },
    [await readFile(binary), ...(await Promise.all(libs.map((l) => readFile(l)))), NGINX_CONF],
  );
  return { busybox, pause, nginx };
}

async function fillNodejs(root: string, binary: string, libs: string[]): Promise<void> {
  for (const d of ["usr/bin", "tmp", "etc"]) await mkdir(join(root, d), { recursive: true });
  await chmod(join(root, "tmp"), 0o1777);
  await copyFile(binary, join(root, "usr/bin/node"));
  await chmod(join(root, "usr/bin/node"), 0o755);
  for (const lib of libs) {
    await mkdir(join(root, dirname(lib)), { recursive: true });
    await copyFile(lib, join(root, lib));
  }
  await writeFile(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/false\n");
  await writeFile(join(root, "etc/group"), "root:x:0:\n");
}

/** Node.js as an image (entrypoint /usr/bin/node), from the binary running this code. */
export async function nodejsImage(): Promise<NodeImage> {
  const binary = process.execPath;
  const libs = await sharedLibs(binary);
  return image(
    {
      name: "nodejs",
      tag: process.versions.node,
      entrypoint: ["/usr/bin/node"],
      fill: (r) => fillNodejs(r, binary, libs),
    },
    [await readFile(binary), ...(await Promise.all(libs.map((l) => readFile(l))))],
  );
}

/** For logs: "busybox-1.35.0-…oci.tar". */
export const archiveName = (img: NodeImage) => basename(img.archive);
