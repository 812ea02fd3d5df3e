// The test node for real: pods created through the real API server are started
// by the real kubelet with containerd + runc on this machine, and we check the
// kernel's side of it (processes, cgroups, namespaces) rather than API status
// alone. Needs root (cgroups, bridge, containerd).
import assert from "node:assert/strict";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startNode, type TeardownReport, type TestNode } from "../src/local/runtime/node.ts";
import { readSysctl, WATCHED_SYSCTLS } from "../src/local/runtime/node/host.ts";
import { busyboxPod, podManifest, type PodObject } from "../src/local/runtime/node/pods.ts";
import { sleep } from "../src/local/runtime/process.ts";
import { closeTestCluster, testCluster, type TestCluster } from "./env/test-cluster.ts";

const isRoot = process.getuid?.() === 0;

interface PodState {
  uid: string;
  phase: string;
  podIP: string;
  containerId: string;
}

async function podState(node: TestNode, ns: string, name: string): Promise<PodState> {
  const r = await node.kubectl(["get", "pod", "-n", ns, name, "-o", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const pod = JSON.parse(r.stdout) as {
    metadata: { uid: string };
    status: { phase?: string; podIP?: string; containerStatuses?: { containerID?: string }[] };
  };
  return {
    uid: pod.metadata.uid,
    phase: pod.status.phase ?? "",
    podIP: pod.status.podIP ?? "",
    containerId: (pod.status.containerStatuses?.[0]?.containerID ?? "").replace(/^\w+:\/\//, ""),
  };
}

async function create(node: TestNode, pods: PodObject[]): Promise<number> {
  const t0 = Date.now();
  const r = await node.kubectl(
    ["create", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: pods }),
  );
  assert.equal(r.code, 0, r.stderr);
  return t0;
}

/** Waits until every pod is Running; returns seconds from `t0` to the moment all were. */
async function waitRunning(node: TestNode, ns: string, names: string[], t0: number) {
  const r = await node.kubectl([
    "wait",
    "-n",
    ns,
    "--for=jsonpath={.status.phase}=Running",
    "--timeout=180s",
    ...names.map((n) => `pod/${n}`),
  ]);
  assert.equal(r.code, 0, `pods not Running: ${r.stderr}`);
  return (Date.now() - t0) / 1000;
}

/** The container's cgroup directory in the cpu hierarchy (cgroupfs layout kubelet asked runc for). */
function cpuCgroupDir(node: TestNode, qosDir: string, p: PodState): string {
  return join(
    "/sys/fs/cgroup/cpu",
    node.cgroupRoot,
    "kubepods",
    qosDir,
    `pod${p.uid}`,
    p.containerId,
  );
}

const pidsIn = (dir: string) =>
  readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);

describe("test node: real kubelet + containerd + runc", { skip: !isRoot && "needs root" }, () => {
  let cluster: TestCluster;
  let node: TestNode;
  let ns: string;
  let report: TeardownReport | undefined;
  const log = (l: string) => {
    console.log(l);
  };

  before(async () => {
    cluster = await testCluster();
    node = await startNode({ kubeconfig: cluster.kubeconfig, log });
    ns = await cluster.namespace("node");
  });
  after(async () => {
    if (!report) await node.stop();
    await closeTestCluster();
  });

  test("kubelet registers a Ready node; the host keeps its kernel settings", async () => {
    const r = await node.kubectl(["get", "node", node.name, "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const n = JSON.parse(r.stdout) as {
      status: {
        nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
        addresses: { type: string; address: string }[];
      };
    };
    assert.match(n.status.nodeInfo.kubeletVersion, /^v1\.\d+\.\d+$/);
    assert.match(n.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/1\./);
    assert.ok(
      n.status.addresses.some((a) => a.type === "InternalIP" && a.address === node.nodeIp),
      JSON.stringify(n.status.addresses),
    );
    log(`node Ready ${node.readySeconds.toFixed(1)}s after start`);
    // kubelet ran its kernel-tunable setup before reporting Ready: the host must not show it.
    for (const s of WATCHED_SYSCTLS) assert.equal(readSysctl(s), node.hostBefore.sysctls[s], s);
  });

  test("a busybox pod runs in its own namespaces and pod cgroup with the CPU quota it asked for", async () => {
    const pod = busyboxPod(
      {
        name: "busybox",
        namespace: ns,
        nodeName: node.name,
        image: node.images.busybox.ref,
        cpuMillis: 200,
      },
      "kernel-gossip-hello",
    );
    const t0 = await create(node, [pod]);
    log(`busybox pod Running after ${(await waitRunning(node, ns, ["busybox"], t0)).toFixed(2)}s`);
    const p = await podState(node, ns, "busybox");
    assert.match(p.containerId, /^[0-9a-f]{64}$/);

    // Its stdout, through the API server and the kubelet's log endpoint.
    let logs = "";
    for (let i = 0; i < 50 && !logs.includes(p.containerId); i++) {
      logs = (await node.kubectl(["logs", "-n", ns, "busybox"])).stdout;
      if (!logs.includes(p.containerId)) await sleep(200);
    }
    assert.match(logs, /kernel-gossip-hello/);
    // Guaranteed QoS: cgroupfs path <root>/kubepods/pod<uid>/<container id>, as the container saw it.
    assert.ok(
      logs.includes(`cpu:${node.cgroupRoot}/kubepods/pod${p.uid}/${p.containerId}`),
      `container's /proc/self/cgroup:\n${logs}`,
    );

    const dir = cpuCgroupDir(node, "", p);
    assert.equal(readFileSync(join(dir, "cpu.cfs_period_us"), "utf8").trim(), "100000");
    assert.equal(readFileSync(join(dir, "cpu.cfs_quota_us"), "utf8").trim(), "20000");
    const [pid] = pidsIn(dir);
    assert.ok(pid, `no process in ${dir}`);
    assert.deepEqual(
      readFileSync(`/proc/${String(pid)}/cmdline`, "utf8")
        .split("\0")
        .filter(Boolean),
      ["sleep", "3600"],
    );
    for (const nsType of ["mnt", "pid", "uts", "ipc", "net"]) {
      assert.notEqual(
        readlinkSync(`/proc/${String(pid)}/ns/${nsType}`),
        readlinkSync(`/proc/self/ns/${nsType}`),
        `${nsType} namespace shared with the host`,
      );
    }
  });

  test("an nginx pod (Debian's nginx binary) serves HTTP on its pod IP", async () => {
    const pod = podManifest({
      name: "nginx",
      namespace: ns,
      nodeName: node.name,
      image: node.images.nginx.ref,
      port: 8080,
    });
    const t0 = await create(node, [pod]);
    log(`nginx pod Running after ${(await waitRunning(node, ns, ["nginx"], t0)).toFixed(2)}s`);
    const p = await podState(node, ns, "nginx");
    assert.ok(p.podIP.startsWith(node.nodeIp.replace(/\.1$/, ".")), `pod IP ${p.podIP}`);
    let body = "";
    for (let i = 0; i < 50 && !body; i++) {
      body = await fetch(`http://${p.podIP}:8080/`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.text())
        .catch(() => "");
      if (!body) await sleep(200);
    }
    assert.equal(body, "kernel-gossip nginx\n");
    // BestEffort: the master and its worker are both in the container's cgroup.
    const procs = pidsIn(cpuCgroupDir(node, "besteffort", p));
    const names = procs.map((pid) => readFileSync(`/proc/${String(pid)}/cmdline`, "utf8"));
    assert.ok(
      names.some((n) => n.startsWith("nginx: master")),
      names.join(" | "),
    );
    assert.ok(
      names.some((n) => n.startsWith("nginx: worker")),
      names.join(" | "),
    );
  });

  test("deleting a pod stops its process and removes its cgroups", async () => {
    const p = await podState(node, ns, "busybox");
    const dir = cpuCgroupDir(node, "", p);
    const [pid] = pidsIn(dir);
    const t0 = Date.now();
    const r = await node.kubectl(["delete", "pod", "-n", ns, "busybox", "--timeout=60s"]);
    assert.equal(r.code, 0, r.stderr);
    log(`busybox pod deleted (object gone) after ${((Date.now() - t0) / 1000).toFixed(2)}s`);
    assert.ok(!existsSync(`/proc/${String(pid)}`), "container process still alive");
    const podDir = join("/sys/fs/cgroup/cpu", node.cgroupRoot, "kubepods", `pod${p.uid}`);
    for (let i = 0; i < 100 && existsSync(podDir); i++) await sleep(200);
    assert.ok(!existsSync(podDir), `${podDir} still exists 20s after deletion`);
  });

  test("ten pods created at once all run, each in its own cgroup", async () => {
    const names = Array.from({ length: 10 }, (_, i) => `burst-${String(i)}`);
    const pods = names.map((name) =>
      busyboxPod(
        { name, namespace: ns, nodeName: node.name, image: node.images.busybox.ref },
        name,
      ),
    );
    const t0 = await create(node, pods);
    log(`10 pods all Running after ${(await waitRunning(node, ns, names, t0)).toFixed(2)}s`);
    const states = await Promise.all(names.map((n) => podState(node, ns, n)));
    const pids = new Set<number>();
    for (const p of states) {
      const procs = pidsIn(cpuCgroupDir(node, "besteffort", p));
      assert.equal(procs.length, 1, `pod ${p.uid}: ${procs.join(",")}`);
      pids.add(procs[0] ?? 0);
    }
    assert.equal(pids.size, 10);
    assert.equal(new Set(states.map((s) => s.podIP)).size, 10);
    const r = await node.kubectl(["delete", "pods", "-n", ns, ...names, "--timeout=90s"]);
    assert.equal(r.code, 0, r.stderr);
  });

  test("teardown leaves no containers, cgroups, mounts, links or rule changes behind", async () => {
    report = await node.stop();
    assert.deepEqual(report.leftovers, []);
    // kubelet did try to force its tunables (into the masks), and the host kept its values.
    const panic = report.kubeletSysctls["kernel/panic"];
    assert.equal(panic?.kubelet, "10");
    for (const s of WATCHED_SYSCTLS) assert.equal(readSysctl(s), node.hostBefore.sysctls[s], s);
    log(`kubelet wrote (masked): ${JSON.stringify(report.kubeletSysctls)}`);
  });
});
