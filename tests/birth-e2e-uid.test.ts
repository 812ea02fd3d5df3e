// End to end with an observer that has no API access (it knows a pod only by
// the UID in kubelet's cgroup path): a pod created through the API server is
// started by the real kubelet (containerd + runc), the real observer captures
// the start, and the operator names the pod through its pod index (by the
// node's name) and writes the certificate. Checked against the kernel: the
// container's CPU quota file, and every namespace the container does not share
// with the host is created or joined in the certificate. The observer-with-API
// flow, nginx and ten pods at once are in birth-e2e.test.ts. Needs root.
import assert from "node:assert/strict";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { PodBirthCertificate } from "../src/shared/model/pod-birth-certificate.ts";
import type { RunningOperator } from "../src/operator/operator.ts";
import { eventually, startTestOperator, testConfig } from "./support/operator.ts";
import { startNode, type TestNode } from "../src/local/runtime/node.ts";
import { busyboxPod } from "../src/local/runtime/node/pods.ts";
import { startObserver, type Observer } from "../src/local/runtime/observer.ts";
import { closeTestCluster, testCluster, type TestCluster } from "./env/test-cluster.ts";

const isRoot = process.getuid?.() === 0;

describe(
  "births end to end, observer without API access (pod named by UID)",
  { skip: !isRoot && "needs root" },
  () => {
    let cluster: TestCluster;
    let node: TestNode | undefined;
    let observer: Observer | undefined;
    let op: RunningOperator | undefined;
    let ns: string;

    before(async () => {
      cluster = await testCluster();
      node = await startNode({ kubeconfig: cluster.kubeconfig });
      // No API access for the observer: it knows pods by the UID in kubelet's cgroup
      // path, and the operator names them. A long sandbox grace keeps one pod one window
      // on this busy 2-core machine (ADR 0017).
      observer = await startObserver({
        nodeName: node.name,
        args: ["--signals", "cgroups,births", "--birth-sandbox-grace-ms", "20000"],
      });
      ns = await cluster.namespace("births-e2e");
      op = await startTestOperator(
        testConfig(cluster.kubeconfig, ns, (c) => {
          c.observers.urls = [observer?.url ?? ""];
        }),
      );
    });
    after(async () => {
      for (const stop of [() => op?.stop(), () => observer?.stop(), () => node?.stop()]) {
        await Promise.resolve(stop()).catch(() => undefined);
      }
      await closeTestCluster();
    });

    test("the operator names the pod from its UID; the certificate matches the kernel", async () => {
      assert.ok(node);
      const pod = busyboxPod(
        {
          name: "born",
          namespace: ns,
          nodeName: node.name,
          image: node.images.busybox.ref,
          cpuMillis: 200,
        },
        "kernel-gossip-birth",
      );
      const created = await cluster.kubectl(
        ["create", "-f", "-", "-o", "jsonpath={.metadata.uid}"],
        JSON.stringify(pod),
      );
      assert.equal(created.code, 0, created.stderr);
      const uid = created.stdout;
      const running = await cluster.kubectl([
        "wait",
        "-n",
        ns,
        "--for=jsonpath={.status.phase}=Running",
        "--timeout=180s",
        "pod/born",
      ]);
      assert.equal(running.code, 0, running.stderr);

      const pbc = await eventually(
        "the pod's birth certificate",
        async () => {
          const res = await cluster.kubectl(["get", "pbc", "-n", ns, "-o", "json"]);
          if (res.code !== 0) return undefined;
          const items = (JSON.parse(res.stdout) as { items: PodBirthCertificate[] }).items;
          return items.find((c) => c.spec.subject.pod === "born" && c.status?.phase);
        },
        90_000,
      );
      const k = pbc.spec.kernelStats;
      console.log(
        `certificate ${pbc.metadata.name ?? ""}: ${JSON.stringify({
          durationSeconds: k.totalDurationSeconds,
          syscalls: k.syscalls,
          forks: k.forks,
          execs: k.execs,
          namespacesCreated: k.namespacesCreated,
          cgroupsCreated: k.cgroupsCreated.length,
          cgroupFilesWritten: k.cgroupFilesWritten.length,
          timeline: pbc.spec.timeline.length,
          truncated: pbc.spec.truncated,
        })}`,
      );
      assert.deepEqual(pbc.metadata.ownerReferences, [
        { apiVersion: "v1", kind: "Pod", name: "born", uid },
      ]);
      assert.equal(pbc.spec.subject.podUID, uid);
      assert.equal(pbc.spec.subject.node, node.name);
      assert.equal(pbc.status?.phase, "Complete");

      // The container's process and its cgroup, from the kernel.
      const status = await cluster.kubectl([
        "get",
        "pod",
        "born",
        "-n",
        ns,
        "-o",
        "jsonpath={.status.containerStatuses[0].containerID}",
      ]);
      const containerId = status.stdout.replace(/^\w+:\/\//, "");
      const cgroup = `${node.cgroupRoot}/kubepods/pod${uid}/${containerId}`;
      const quotaFile = join("/sys/fs/cgroup/cpu", cgroup, "cpu.cfs_quota_us");
      const quota = readFileSync(quotaFile, "utf8").trim();
      assert.equal(quota, "20000");
      const written = k.cgroupFilesWritten.filter((w) => w.path.endsWith("cpu.cfs_quota_us"));
      assert.ok(
        written.some((w) => w.path.includes(containerId) && w.value.trim() === quota),
        `no cpu.cfs_quota_us=${quota} write for the container in ${JSON.stringify(written)}`,
      );
      const [pid] = readFileSync(join("/sys/fs/cgroup/cpu", cgroup, "cgroup.procs"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map(Number);
      assert.ok(pid);
      // Every namespace the container does not share with the host is accounted for:
      // created during the window, or joined (containerd's CRI makes the pod's network
      // namespace itself before runc runs, so runc only setns()es into it).
      const FLAG = { mnt: "NEWNS", uts: "NEWUTS", ipc: "NEWIPC", pid: "NEWPID", net: "NEWNET" };
      for (const [t, flag] of Object.entries(FLAG) as [keyof typeof FLAG, string][]) {
        if (readlinkSync(`/proc/${String(pid)}/ns/${t}`) === readlinkSync(`/proc/self/ns/${t}`))
          continue;
        const created = (k.namespacesCreated[t] ?? 0) >= 1;
        const joined = pbc.spec.timeline.some(
          (s) => s.action === "namespace-joined" && s.detail.includes(`CLONE_${flag}`),
        );
        assert.ok(
          created || joined,
          `${t} namespace neither created nor joined in the certificate`,
        );
      }
      assert.ok(k.syscalls > 0 && k.execs >= 2 && k.forks >= 1, JSON.stringify(k));
      assert.ok(
        pbc.spec.timeline.some((s) => s.actor === "container" && s.action === "exec"),
        "the entrypoint's exec is on the timeline",
      );
      assert.ok(pbc.spec.timeline.some((s) => s.actor === "runtime"));

      const table = await cluster.kubectl(["get", "pbc", "-n", ns, "--no-headers"]);
      assert.match(
        table.stdout,
        new RegExp(`born\\s+${node.name}\\s+[\\d.]+\\s+\\d+\\s+\\d+\\s+Complete`),
      );
    });
  },
);
