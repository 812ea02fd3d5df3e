// demo birth: a real container start with runc — a busybox root filesystem,
// the pid/mount/ipc/uts/net namespaces of `runc spec`, and a cgroup path laid
// out like kubelet's cgroupfs driver (/kubepods/besteffort/pod<uid>/<id>), so
// the observer sees the cascade a pod start causes (cgroups made, limit
// files written, namespaces, the entrypoint's exec). Removed afterwards.
import { execFile, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const BUSYBOX = "/bin/busybox";

async function which(cmd: string): Promise<string | undefined> {
  const r = await run("sh", ["-c", `command -v ${cmd}`]).catch(() => undefined);
  return r?.stdout.trim() || undefined;
}

export async function demoBirth(): Promise<number> {
  const runc = await which("runc");
  if (!runc) {
    console.error("demo birth: runc is not installed (Debian package `runc`)");
    return 2;
  }
  if (!existsSync(BUSYBOX)) {
    console.error("demo birth: no static busybox (Debian package `busybox-static`)");
    return 2;
  }
  const podUid = randomUUID();
  const id = randomBytes(32).toString("hex");
  const cgroupsPath = `/kubepods/besteffort/pod${podUid}/${id}`;
  const bundle = await mkdtemp(join(tmpdir(), "kernel-gossip-demo-birth-"));
  // cgroup dirs that did not exist before, removed afterwards if empty.
  const parents = ["/kubepods", "/kubepods/besteffort", `/kubepods/besteffort/pod${podUid}`];
  const hierarchies = cgroupHierarchies();
  const preexisting = new Set(
    hierarchies.flatMap((h) =>
      parents.filter((p) => existsSync(join("/sys/fs/cgroup", h, p))).map((p) => `${h}${p}`),
    ),
  );
  try {
    const rootfs = join(bundle, "rootfs");
    await mkdir(join(rootfs, "bin"), { recursive: true });
    for (const d of ["proc", "sys", "dev", "tmp"]) await mkdir(join(rootfs, d));
    await copyFile(BUSYBOX, join(rootfs, "bin/busybox"));
    await run(runc, ["spec", "--bundle", bundle]);
    const spec = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as {
      process: { args: string[]; terminal: boolean };
      linux: { cgroupsPath?: string; resources?: Record<string, unknown> };
      hostname?: string;
    };
    spec.process.terminal = false;
    spec.process.args = [
      "/bin/busybox",
      "sh",
      "-c",
      "echo born: pid $$ in $(/bin/busybox hostname); /bin/busybox sleep 1",
    ];
    spec.hostname = "kernel-gossip-demo";
    spec.linux.cgroupsPath = cgroupsPath;
    // A CPU and memory limit like a pod with resources: the observer sees the writes.
    spec.linux.resources = {
      ...spec.linux.resources,
      cpu: { quota: 50_000, period: 100_000 },
      memory: { limit: 64 * 1024 * 1024 },
    };
    await writeFile(join(bundle, "config.json"), JSON.stringify(spec, null, 2));
    console.log(`demo birth: runc container ${id.slice(0, 12)} in cgroup ${cgroupsPath}`);
    const t0 = process.hrtime.bigint();
    const code = await new Promise<number>((resolve) => {
      const c = spawn("setpriv", ["--pdeathsig", "SIGKILL", runc, "run", "--bundle", bundle, id], {
        stdio: ["ignore", "inherit", "inherit"],
      });
      c.on("close", (x) => resolve(x ?? 1));
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(
      `demo birth: container exited ${code} after ${ms.toFixed(0)} ms (runc run, wall clock)`,
    );
    return code;
  } finally {
    await run(runc, ["delete", "--force", id]).catch(() => undefined);
    for (const h of hierarchies) {
      for (const p of [...parents].reverse()) {
        if (preexisting.has(`${h}${p}`)) continue;
        await rmdir(join("/sys/fs/cgroup", h, p)).catch(() => undefined);
      }
    }
    await rm(bundle, { recursive: true, force: true });
    console.log("demo birth: container, bundle and its cgroups removed");
  }
}

/**
 * Every mounted hierarchy runc may create the container's cgroups in: on a v1
 * or hybrid host each directory under /sys/fs/cgroup (controllers, named
 * hierarchies and the v2 tree at unified/; the cpu,cpuacct-style symlinks are
 * skipped), on a v2-only host the root itself.
 */
export function cgroupHierarchies(): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return [""];
  return readdirSync("/sys/fs/cgroup", { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}
