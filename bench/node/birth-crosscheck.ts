// Cross-check of the observer's birth capture on real kubelet pod starts: the
// same start is counted twice, by the observer (eBPF, its `birth` event on
// /events) and by strace attached to containerd (ptrace, following the shim,
// runc, runc init and the entrypoints). For a busybox and an nginx pod it
// prints both syscall counts over the observer's window (first event → last
// entrypoint exec + grace), the difference, and namespaces and cgroup writes
// side by side. strace slows the start several-fold; counts, not times, are
// compared.
//   node --import tsx bench/node/birth-crosscheck.ts
// Needs root and BPF. Starts its own control plane, node and observer.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BirthEvent, ObserverEvent } from "../../src/shared/model/observer-events.ts";
import { startCluster } from "../../src/local/runtime/cluster.ts";
import { startNode, type TestNode } from "../../src/local/runtime/node.ts";
import { busyboxPod, podManifest, type PodObject } from "../../src/local/runtime/node/pods.ts";
import { startObserver } from "../../src/local/runtime/observer.ts";
import { sleep } from "../../src/local/runtime/process.ts";
import { parseCascade } from "./strace-cascade.ts";
import { attached, deletePod, detach, RUNTIME_BINS, podUID, startPod, strace } from "./trace.ts";

const GRACE_MS = 1000;
const births: { uid: string; ev: BirthEvent }[] = [];

/** Collects birth events from the observer's NDJSON stream until `signal` aborts. */
async function follow(url: string, signal: AbortSignal): Promise<void> {
  const res = await fetch(`${url}/events?since=0`, { signal });
  if (!res.body) throw new Error("no /events body");
  let buf = "";
  for await (const chunk of res.body) {
    buf += Buffer.from(chunk as Uint8Array).toString();
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line) as ObserverEvent;
      if (e.type === "birth" && e.workload.podUID)
        births.push({ uid: e.workload.podUID, ev: e.evidence });
    }
  }
}

async function birthOf(uid: string): Promise<BirthEvent> {
  for (let i = 0; i < 600; i++) {
    const b = births.find((x) => x.uid === uid && x.ev.containers.some((c) => !c.sandbox));
    if (b) return b.ev;
    await sleep(200);
  }
  throw new Error(`no birth event for pod ${uid}`);
}

async function crossCheck(node: TestNode, pod: PodObject) {
  const dir = await mkdtemp(join(tmpdir(), "kg-crosscheck-"));
  try {
    const cd = strace(node.containerd.pid, join(dir, "cd"));
    await attached(cd);
    await startPod(node, pod);
    const uid = await podUID(node, pod);
    const ev = await birthOf(uid);
    await detach(cd);
    const from = Date.parse(ev.start) / 1000;
    const to = from + ev.durationSeconds + GRACE_MS / 1000;
    const c = parseCascade(dir, "cd", "containerd", (b) => RUNTIME_BINS.has(b), { from, to });
    const cni = new Set(["bridge", "host-local", "loopback"]);
    // The observer follows runtime execs (shim, runc) and their descendants, not
    // containerd's own threads nor the CNI plugins containerd runs.
    const sameSet = Object.entries(c.syscalls)
      .filter(([a]) => a !== "containerd" && !cni.has(a))
      .reduce((n, [, v]) => n + v, 0);
    return { ev, strace: c, sameSet };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const log = (l: string) => {
  console.error(`crosscheck: ${l}`);
};
const cluster = await startCluster({ log, installCrds: false });
const abort = new AbortController();
let node: TestNode | undefined;
let stopObserver: (() => Promise<void>) | undefined;
try {
  node = await startNode({ kubeconfig: cluster.kubeconfig, log });
  const observer = await startObserver({
    nodeName: node.name,
    kubeconfig: cluster.kubeconfig,
    // strace slows the runtime: keep the sandbox and the app container in one window.
    args: ["--birth-grace-ms", String(GRACE_MS), "--birth-sandbox-grace-ms", "30000"],
  });
  stopObserver = observer.stop;
  follow(observer.url, abort.signal).catch(() => undefined);
  const n = node;
  const pods: [string, PodObject][] = [
    [
      "busybox",
      busyboxPod(
        {
          name: "cc-busybox",
          namespace: "default",
          nodeName: n.name,
          image: n.images.busybox.ref,
          cpuMillis: 200,
        },
        "crosscheck",
      ),
    ],
    [
      "nginx",
      podManifest({
        name: "cc-nginx",
        namespace: "default",
        nodeName: n.name,
        image: n.images.nginx.ref,
        port: 8080,
      }),
    ],
  ];
  for (const [image, pod] of pods) {
    const r = await crossCheck(n, pod);
    await deletePod(n, pod);
    const diff = r.ev.syscalls - r.sameSet;
    console.log(
      `\n== ${image} pod, window ${r.ev.durationSeconds.toFixed(3)} s + ${String(GRACE_MS)} ms grace`,
    );
    console.log(`syscalls  observer (eBPF): ${String(r.ev.syscalls)}`);
    console.log(
      `syscalls  strace, shim + runc + runc init + entrypoints in the window: ${String(r.sameSet)} ` +
        `(difference ${String(diff)}, ${((100 * diff) / Math.max(1, r.sameSet)).toFixed(1)}%)`,
    );
    console.log(`          strace by actor: ${JSON.stringify(r.strace.syscalls)}`);
    console.log(`namespaces observer: ${JSON.stringify(r.ev.namespacesCreated)}`);
    console.log(
      `namespaces strace:   ${JSON.stringify(r.strace.namespacesCreated)} by ${JSON.stringify(r.strace.namespaceCreators)}`,
    );
    console.log(
      `cgroups created observer ${String(r.ev.cgroupsCreated.length)}, strace (runtime) ${String(r.strace.cgroupsCreated.length)}; ` +
        `cgroup writes observer ${String(r.ev.cgroupFilesWritten.length)}, strace (runtime) ${String(r.strace.cgroupWrites.length)}`,
    );
  }
} finally {
  abort.abort();
  await stopObserver?.();
  if (node) await node.stop();
  await cluster.stop();
}
