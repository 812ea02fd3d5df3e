// The kernel cascade of a pod start on the real test node, measured with strace
// (ptrace: independent of the observer's eBPF capture). For a busybox pod and
// an nginx pod it prints syscalls per actor, namespaces created, cgroup
// directories made and control files written, and the time from the first
// runtime syscall to the entrypoint's exec. Baseline in the same run: the same
// pods started untraced (create → Running), to show what tracing costs.
//   node --import tsx bench/node/pod-cascade.ts [--runs N] [--json out.json]
// Needs root. Starts its own control plane and node; cleans up.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster } from "../../src/local/runtime/cluster.ts";
import { startNode, type TestNode } from "../../src/local/runtime/node.ts";
import { busyboxPod, podManifest, type PodObject } from "../../src/local/runtime/node/pods.ts";
import { sleep } from "../../src/local/runtime/process.ts";
import { parseCascade, type Cascade } from "./strace-cascade.ts";
import { attached, deletePod, detach, RUNTIME_BINS, podUID, startPod, strace } from "./trace.ts";

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const RUNS = Number(arg("--runs", "3"));
const JSON_OUT = arg("--json", "");
interface Figures {
  image: string;
  untracedStartSeconds: number[];
  tracedStartSeconds: number;
  runtimeToEntrypointMs: number;
  syscallsRuntime: number;
  syscallsContainerdDaemon: number;
  syscallsContainerAfterExec: number;
  syscallsByActor: Record<string, number>;
  namespacesCreated: Record<string, number>;
  namespaceCreators: Record<string, string[]>;
  cgroupsCreated: { kubelet: number; runtime: number };
  cgroupWrites: { kubelet: number; runtime: number };
  cgroupWriteSample: { path: string; value: string; by: string }[];
}

async function traced(node: TestNode, pod: PodObject, image: string): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), "kg-cascade-"));
  try {
    const cd = strace(node.containerd.pid, join(dir, "cd"));
    const kl = strace(
      node.kubelet.child.pid ?? 0,
      join(dir, "kl"),
      "mkdir,mkdirat,openat,write,unshare,clone,clone3,execve",
    );
    await Promise.all([attached(cd), attached(kl)]);
    const t = await startPod(node, pod);
    await sleep(1000); // the entrypoint's first second, as the observer's grace period
    await Promise.all([detach(cd), detach(kl)]);
    const uid = await podUID(node, pod);
    const rt: Cascade = parseCascade(dir, "cd", "containerd", (b) => RUNTIME_BINS.has(b));
    const kc: Cascade = parseCascade(dir, "kl", "kubelet", () => true);
    // kubelet's own work for this pod only (it also rewrites QoS-level cgroups periodically).
    const mine = (p: string) => p.includes(`pod${uid}`);
    kc.cgroupsCreated = kc.cgroupsCreated.filter((d) => mine(d.path));
    kc.cgroupWrites = kc.cgroupWrites.filter((w) => mine(w.path));
    const first = Math.min(
      rt.firstEvent,
      ...kc.cgroupsCreated.map((d) => d.t),
      ...kc.cgroupWrites.map((w) => w.t),
    );
    const lastExec = rt.entrypointExecs.at(-1)?.t ?? NaN;
    const sum = (pred: (actor: string) => boolean) =>
      Object.entries(rt.syscalls)
        .filter(([a]) => pred(a))
        .reduce((n, [, v]) => n + v, 0);
    return {
      image,
      untracedStartSeconds: [],
      tracedStartSeconds: t,
      runtimeToEntrypointMs: Math.round((lastExec - first) * 1000),
      syscallsRuntime: sum((a) => a !== "containerd" && !a.startsWith("container:")),
      syscallsContainerdDaemon: rt.syscalls.containerd ?? 0,
      syscallsContainerAfterExec: sum((a) => a.startsWith("container:")),
      syscallsByActor: rt.syscalls,
      namespacesCreated: rt.namespacesCreated,
      namespaceCreators: rt.namespaceCreators,
      cgroupsCreated: { kubelet: kc.cgroupsCreated.length, runtime: rt.cgroupsCreated.length },
      cgroupWrites: { kubelet: kc.cgroupWrites.length, runtime: rt.cgroupWrites.length },
      cgroupWriteSample: [...kc.cgroupWrites, ...rt.cgroupWrites]
        .filter((w) => /cfs_quota|cfs_period|shares|limit_in_bytes|pids\.max|cpuset\./.test(w.path))
        .map(({ path, value, by }) => ({ path, value, by })),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const log = (l: string) => {
  console.error(`bench: ${l}`);
};
const cluster = await startCluster({ log, installCrds: false });
let node: TestNode | undefined;
try {
  node = await startNode({ kubeconfig: cluster.kubeconfig, log });
  const n = node;
  const pods = (suffix: string) => ({
    busybox: busyboxPod(
      {
        name: `busybox-${suffix}`,
        namespace: "default",
        nodeName: n.name,
        image: n.images.busybox.ref,
        cpuMillis: 200,
      },
      "cascade",
    ),
    nginx: podManifest({
      name: `nginx-${suffix}`,
      namespace: "default",
      nodeName: n.name,
      image: n.images.nginx.ref,
      port: 8080,
    }),
  });
  const results: Figures[] = [];
  for (const image of ["busybox", "nginx"] as const) {
    const untraced: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const pod = pods(`u${String(i)}`)[image];
      untraced.push(await startPod(n, pod));
      await deletePod(n, pod);
    }
    const pod = pods("traced")[image];
    const f = await traced(n, pod, image);
    await deletePod(n, pod);
    f.untracedStartSeconds = untraced;
    results.push(f);
  }
  for (const f of results) {
    console.log(`\n== ${f.image} pod (${n.images[f.image as "busybox" | "nginx"].ref})`);
    console.log(
      `create→Running untraced (baseline): ${f.untracedStartSeconds.map((s) => s.toFixed(2)).join(", ")} s`,
    );
    console.log(`create→Running traced:              ${f.tracedStartSeconds.toFixed(2)} s`);
    console.log(
      `first runtime/kubelet cgroup event → last entrypoint exec (traced): ${String(f.runtimeToEntrypointMs)} ms`,
    );
    console.log(
      `syscalls, runtime processes (shim, runc, runc init, CNI plugins) until detach: ${String(f.syscallsRuntime)}`,
    );
    console.log(
      `syscalls, containerd daemon threads in the same window: ${String(f.syscallsContainerdDaemon)}`,
    );
    console.log(
      `syscalls, container entrypoints from exec to 1 s after Running: ${String(f.syscallsContainerAfterExec)}`,
    );
    console.log(`by actor: ${JSON.stringify(f.syscallsByActor)}`);
    console.log(
      `namespaces created: ${JSON.stringify(f.namespacesCreated)} by ${JSON.stringify(f.namespaceCreators)}`,
    );
    console.log(
      `cgroup dirs created: kubelet ${String(f.cgroupsCreated.kubelet)}, runtime ${String(f.cgroupsCreated.runtime)}`,
    );
    console.log(
      `cgroup files written: kubelet ${String(f.cgroupWrites.kubelet)}, runtime ${String(f.cgroupWrites.runtime)}`,
    );
    for (const w of f.cgroupWriteSample)
      console.log(`  ${w.by}: ${w.path} = ${JSON.stringify(w.value)}`);
  }
  if (JSON_OUT) await writeFile(JSON_OUT, JSON.stringify(results, null, 2));
} finally {
  if (node) {
    const report = await node.stop();
    if (report.leftovers.length) log(`leftovers: ${report.leftovers.join("; ")}`);
  }
  await cluster.stop();
}
