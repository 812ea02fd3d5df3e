// Pod birth certificates end to end, everything real: a pod created through the
// API server is started by the real kubelet (containerd + runc) on this
// machine, the observer captures the birth in the kernel, the operator writes a
// PodBirthCertificate owned by the Pod, and `kubectl get pbc` shows it. The
// certificate is then checked against what runc actually did: the namespaces it
// counts differ from the host's in the container's /proc/<pid>/ns, and the CPU
// quota it lists as written is what the cgroup file holds. Needs root and BPF.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { PodBirthCertificate } from "../src/shared/model/pod-birth-certificate.ts";
import type { RunningOperator } from "../src/operator/operator.ts";
import { eventually, startTestOperator, testConfig } from "./support/operator.ts";
import { REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { startNode, type TestNode } from "../src/local/runtime/node.ts";
import { busyboxPod, podManifest, type PodObject } from "../src/local/runtime/node/pods.ts";
import { startObserver, type Observer } from "../src/local/runtime/observer.ts";
import { closeTestCluster, testCluster, type TestCluster } from "./env/test-cluster.ts";

const isRoot = process.getuid?.() === 0;
// Until the observer's birth capture is on this branch there is nothing to capture with.
const hasBirthCapture = existsSync(join(REPO_ROOT, "observer/src/bpf/birth.bpf.c"));

interface PodInfo {
  uid: string;
  containerId: string;
}

async function createAndRun(node: TestNode, ns: string, pods: PodObject[]): Promise<void> {
  const c = await node.kubectl(
    ["create", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: pods }),
  );
  assert.equal(c.code, 0, c.stderr);
  const w = await node.kubectl([
    "wait",
    "-n",
    ns,
    "--for=jsonpath={.status.phase}=Running",
    "--timeout=180s",
    ...pods.map((p) => `pod/${p.metadata.name}`),
  ]);
  assert.equal(w.code, 0, w.stderr);
}

async function podInfo(node: TestNode, ns: string, name: string): Promise<PodInfo> {
  const r = await node.kubectl(["get", "pod", "-n", ns, name, "-o", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout) as {
    metadata: { uid: string };
    status: { containerStatuses?: { containerID?: string }[] };
  };
  const id = (p.status.containerStatuses?.[0]?.containerID ?? "").replace(/^\w+:\/\//, "");
  return { uid: p.metadata.uid, containerId: id };
}

async function certificates(node: TestNode, ns: string): Promise<PodBirthCertificate[]> {
  const r = await node.kubectl(["get", "pbc", "-n", ns, "-o", "json"]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { items: PodBirthCertificate[] }).items;
}

/** Waits for the certificate of the pod with `uid` (complete, i.e. the entrypoint ran). */
function certificateOf(node: TestNode, ns: string, uid: string) {
  return eventually(
    `PodBirthCertificate for pod ${uid}`,
    async () =>
      (await certificates(node, ns)).find(
        (c) => c.spec.subject.podUID === uid && c.status?.phase === "Complete",
      ),
    90_000,
  );
}

describe(
  "pod birth certificates end to end (real kubelet, observer, operator)",
  {
    skip: (!isRoot && "needs root") || (!hasBirthCapture && "observer has no birth capture yet"),
  },
  () => {
    let cluster: TestCluster;
    let node: TestNode;
    let observer: Observer;
    let op: RunningOperator;
    let ns: string;
    const log = (l: string) => {
      console.log(l);
    };

    before(async () => {
      cluster = await testCluster();
      node = await startNode({ kubeconfig: cluster.kubeconfig, log });
      observer = await startObserver({
        nodeName: node.name,
        kubeconfig: cluster.kubeconfig,
        // One pod, one window even when this 2-core machine is busy: kubelet starts the app
        // container only after the sandbox's network is up (ADR 0017).
        args: ["--birth-sandbox-grace-ms", "20000"],
      });
      op = await startTestOperator(
        testConfig(cluster.kubeconfig, "kernel-gossip", (c) => {
          c.observers.urls = [observer.url];
          c.births = { ...c.births, enabled: true };
        }),
      );
      ns = await cluster.namespace("birth-e2e");
    });
    after(async () => {
      await op.stop();
      await observer.stop();
      await node.stop();
      await closeTestCluster();
    });

    test("a busybox pod's certificate is owned by the Pod, shown by kubectl, and matches what runc did", async () => {
      const pod = busyboxPod(
        {
          name: "born",
          namespace: ns,
          nodeName: node.name,
          image: node.images.busybox.ref,
          cpuMillis: 200,
        },
        "born",
      );
      await createAndRun(node, ns, [pod]);
      const info = await podInfo(node, ns, "born");
      const pbc = await certificateOf(node, ns, info.uid);

      assert.deepEqual(
        pbc.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
        [["Pod", "born", info.uid]],
      );
      assert.equal(pbc.spec.subject.node, node.name);
      const table = await node.kubectl(["get", "pbc", "-n", ns]);
      assert.equal(table.code, 0, table.stderr);
      assert.ok(table.stdout.includes(pbc.metadata.name ?? "?"), table.stdout);
      assert.match(table.stdout, /\bborn\b.*\bComplete\b/);
      log(`kubectl get pbc:\n${table.stdout}`);

      const k = pbc.spec.kernelStats;
      log(
        `certificate: ${String(k.syscalls)} syscalls, namespaces ${JSON.stringify(k.namespacesCreated)}, ` +
          `${String(k.cgroupsCreated.length)} cgroups, ${String(k.cgroupFilesWritten.length)} cgroup writes, ` +
          `${String(k.forks)} forks, ${String(k.execs)} execs, ${String(k.totalDurationSeconds)} s`,
      );
      assert.ok(k.syscalls > 0);
      assert.ok(k.execs > 0);
      // The sandbox's pause, then the pod spec's command (it replaces the image's entrypoint).
      const entrypoints = pbc.spec.timeline
        .filter((t) => t.action === "entrypoint-exec")
        .map((t) => t.detail);
      assert.deepEqual(entrypoints, ["/pause", "/bin/sh"]);

      // Namespaces: every type the certificate counts as created is one the container does
      // not share with the host (runc made it); the sandbox has at least pid/mnt/uts/ipc.
      const procs = readFileSync(
        join(
          "/sys/fs/cgroup/cpu",
          node.cgroupRoot,
          "kubepods",
          `pod${info.uid}`,
          info.containerId,
          "cgroup.procs",
        ),
        "utf8",
      )
        .split("\n")
        .filter(Boolean);
      const pid = procs[0];
      assert.ok(pid, "container process not found in its cgroup");
      const procNs: Record<string, string> = {
        mnt: "mnt",
        uts: "uts",
        ipc: "ipc",
        pid: "pid",
        net: "net",
      };
      for (const [type, count] of Object.entries(k.namespacesCreated)) {
        if (!count || !procNs[type]) continue;
        assert.notEqual(
          readlinkSync(`/proc/${pid}/ns/${procNs[type]}`),
          readlinkSync(`/proc/self/ns/${procNs[type]}`),
          `certificate says a ${type} namespace was created, but the container shares the host's`,
        );
      }
      for (const type of ["pid", "mnt", "uts", "ipc"] as const) {
        assert.ok((k.namespacesCreated[type] ?? 0) >= 1, `no ${type} namespace counted`);
      }

      // Cgroup writes: the container's CPU quota (200m → 20000 µs per 100000 µs) was written,
      // and the file holds that value now.
      const quotaPath = join(
        "/sys/fs/cgroup/cpu",
        node.cgroupRoot,
        "kubepods",
        `pod${info.uid}`,
        info.containerId,
        "cpu.cfs_quota_us",
      );
      const written = k.cgroupFilesWritten.filter(
        (w) =>
          w.path.endsWith("cpu.cfs_quota_us") && w.path.includes(info.containerId.slice(0, 12)),
      );
      assert.ok(
        written.some((w) => w.value.trim() === "20000"),
        `quota write not in certificate: ${JSON.stringify(k.cgroupFilesWritten.map((w) => w.path))}`,
      );
      assert.equal(readFileSync(quotaPath, "utf8").trim(), "20000");
      assert.ok(
        k.cgroupsCreated.some((c) => c.path.includes(info.containerId)),
        "container cgroup not listed as created",
      );
    });

    test("an nginx pod gets its own certificate with nginx as the entrypoint", async () => {
      const pod = podManifest({
        name: "web",
        namespace: ns,
        nodeName: node.name,
        image: node.images.nginx.ref,
        port: 8080,
      });
      await createAndRun(node, ns, [pod]);
      const info = await podInfo(node, ns, "web");
      const pbc = await certificateOf(node, ns, info.uid);
      const entrypoints = pbc.spec.timeline
        .filter((t) => t.action === "entrypoint-exec")
        .map((t) => t.detail);
      assert.deepEqual(entrypoints, ["/pause", "/usr/sbin/nginx"]);
      const k = pbc.spec.kernelStats;
      log(
        `nginx certificate: ${String(k.syscalls)} syscalls, ${JSON.stringify(k.namespacesCreated)}, ` +
          `${String(k.cgroupFilesWritten.length)} cgroup writes, ${String(k.totalDurationSeconds)} s`,
      );
    });

    test("ten pods started at once get ten separate certificates", async () => {
      const names = Array.from({ length: 10 }, (_, i) => `ten-${String(i)}`);
      await createAndRun(
        node,
        ns,
        names.map((name) =>
          busyboxPod(
            { name, namespace: ns, nodeName: node.name, image: node.images.busybox.ref },
            name,
          ),
        ),
      );
      const infos = await Promise.all(names.map((n) => podInfo(node, ns, n)));
      const certs = await Promise.all(infos.map((i) => certificateOf(node, ns, i.uid)));
      assert.equal(new Set(certs.map((c) => c.metadata.name)).size, 10);
      for (const [i, c] of certs.entries()) {
        const info = infos[i];
        assert.ok(info);
        assert.equal(c.metadata.ownerReferences?.[0]?.uid, info.uid);
        // Each certificate lists its own pod's container cgroups and no other pod's.
        const paths = c.spec.kernelStats.cgroupsCreated.map((g) => g.path);
        assert.ok(
          paths.some((p) => p.includes(info.containerId)),
          `${c.metadata.name ?? ""}: ${paths.join(",")}`,
        );
        for (const other of infos) {
          if (other.uid !== info.uid) assert.ok(!paths.some((p) => p.includes(other.uid)));
        }
      }
    });
  },
);
