// Kernel-aware right-sizing and verified actions end to end (ADR 0090, 0091),
// everything real: pods run by the real kubelet (containerd + runc) on this
// machine, the real observer reading their cgroups, the operator sampling the
// observer's counters, resizing the pod in place through the API server and
// judging the change by the same kernel evidence over an equal window.
//   checkout  `demo throttle`'s workers (2 × 40 ms of CPU at once every second)
//             under 200m: low average, throttled in most periods it runs in. Its
//             recommendation must exceed what p95/p90 usage says, and the resize
//             must lower the throttled share — cross-checked against cpu.stat of
//             the container's cgroup, read by this test.
//   sleeper   sleeps, not CPU-bound; an alert (our label contract, with a value)
//             claims it is throttled while its history is still too thin, so the
//             operator acts on the alert; the kernel shows the change did not
//             help and the operator rolls it back.
// Windows are 30 s (KG_SIZING_WINDOW) so the test takes minutes, not days.
// Needs root, BPF, and the host lock (kubelet + containerd).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pod, throttled } from "../src/local/scenes/pods.ts";
import type { RunningOperator } from "../src/operator/operator.ts";
import { eventually, listWhispers, startTestOperator, testConfig } from "./support/operator.ts";
import type { KernelWhisper } from "../src/shared/model/kernel-whisper.ts";
import { parseQuantity } from "../src/operator/engine/quantity.ts";
import { startNode, podCgroupDirs, type TestNode } from "../src/local/runtime/node.ts";
import { nodejsImage } from "../src/local/runtime/node/images.ts";
import { startObserver, type Observer } from "../src/local/runtime/observer.ts";
import { closeTestCluster, testCluster, type TestCluster } from "./env/test-cluster.ts";
import { alertmanagerFullBody } from "./support/alertmanager-body.ts";

const isRoot = process.getuid?.() === 0;
const WINDOW_MS = 30_000;

interface Stat {
  t: number;
  periods: number;
  throttled: number;
}

/** The container's cpu cgroup directory (v1 cpu,cpuacct or v2), from its pod UID and container id. */
function cpuDir(node: TestNode, uid: string, containerId: string): string {
  for (const d of podCgroupDirs(node, "guaranteed", uid)) {
    const c = join(d, containerId);
    if (existsSync(join(c, "cpu.stat")) && existsSync(join(d, "cpu.stat"))) {
      if (existsSync(join(c, "cpu.cfs_quota_us")) || existsSync(join(c, "cpu.max"))) return c;
    }
  }
  throw new Error(`no cpu cgroup for pod ${uid} container ${containerId}`);
}

function readStat(dir: string): Stat {
  const kv = Object.fromEntries(
    readFileSync(join(dir, "cpu.stat"), "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(" ") as [string, string]),
  );
  return { t: Date.now(), periods: Number(kv.nr_periods), throttled: Number(kv.nr_throttled) };
}

function quotaCores(dir: string): number {
  if (existsSync(join(dir, "cpu.max"))) {
    const [q, p] = readFileSync(join(dir, "cpu.max"), "utf8").trim().split(" ");
    return Number(q) / Number(p);
  }
  const q = Number(readFileSync(join(dir, "cpu.cfs_quota_us"), "utf8"));
  const p = Number(readFileSync(join(dir, "cpu.cfs_period_us"), "utf8"));
  return q / p;
}

/** Throttled share of the periods between the samples nearest to `from` and `to`. */
function shareBetween(stats: Stat[], from: number, to: number): number {
  const a = stats.find((s) => s.t >= from) ?? stats[0];
  const b = [...stats].reverse().find((s) => s.t <= to) ?? stats.at(-1);
  assert.ok(a && b && b.periods > a.periods, `cpu.stat samples between ${from} and ${to}`);
  return (b.throttled - a.throttled) / (b.periods - a.periods);
}

describe(
  "right-sizing and verified actions (real kubelet, observer, operator)",
  { skip: !isRoot && "needs root" },
  () => {
    let cluster: TestCluster;
    let node: TestNode;
    let observer: Observer;
    let op: RunningOperator;
    let ns: string;
    const log = (l: string) => {
      console.log(l);
    };

    const whisper = async (podName: string) =>
      (await listWhispers(cluster, ns)).find(
        (w) =>
          w.spec.signal === "cpu-throttling" &&
          w.spec.subject.pod === podName &&
          w.spec.subject.container === "app",
      );

    async function running(name: string) {
      const w = await node.kubectl([
        "wait",
        "-n",
        ns,
        "--for=jsonpath={.status.phase}=Running",
        "--timeout=180s",
        `pod/${name}`,
      ]);
      assert.equal(w.code, 0, w.stderr);
      const r = await node.kubectl(["get", "pod", "-n", ns, name, "-o", "json"]);
      const p = JSON.parse(r.stdout) as {
        metadata: { uid: string };
        status: { containerStatuses?: { containerID?: string }[] };
      };
      const id = (p.status.containerStatuses?.[0]?.containerID ?? "").replace(/^\w+:\/\//, "");
      return cpuDir(node, p.metadata.uid, id);
    }

    const limitOf = async (name: string) => {
      const r = await node.kubectl([
        "get",
        "pod",
        "-n",
        ns,
        name,
        "-o",
        "jsonpath={.spec.containers[0].resources.limits.cpu}",
      ]);
      return r.stdout;
    };

    before(async () => {
      cluster = await testCluster();
      node = await startNode({ kubeconfig: cluster.kubeconfig, log });
      const nodejs = await nodejsImage();
      await node.containerd.ctr(["images", "import", nodejs.archive]);
      observer = await startObserver({ nodeName: node.name, kubeconfig: cluster.kubeconfig });
      ns = await cluster.namespace("rightsizing");
      op = await startTestOperator(
        testConfig(cluster.kubeconfig, "kernel-gossip", (c) => {
          c.observers.urls = [observer.url];
          c.births = { ...c.births, enabled: false };
          c.actions = {
            ...c.actions,
            mode: "on",
            namespaces: [ns],
            // The whole recommended step at once, and a cooldown shorter than the window,
            // so one change and its rollback fit in the test's minutes.
            maxStepFactor: 8,
            cooldownMs: 10_000,
          };
          c.sizing = { ...c.sizing, windowMs: WINDOW_MS, sampleMs: 1_000 };
        }),
      );
      const checkout = pod(node.name, throttled(nodejs.ref, ns));
      const c = await node.kubectl(["create", "-f", "-"], JSON.stringify(checkout));
      assert.equal(c.code, 0, c.stderr);
    });
    after(async () => {
      await op.stop();
      await observer.stop();
      await node.stop();
      await closeTestCluster();
    });

    test("a bursty workload throttled under its quota: sized above usage percentiles, resized, throttling goes down", async () => {
      const dir = await running("checkout");
      // The test's own view of the kernel: cpu.stat of the container's cgroup, every second.
      const stats: Stat[] = [];
      const timer = setInterval(() => stats.push(readStat(dir)), 1_000);
      try {
        const applied = await eventually(
          "a verified right-sizing change on checkout",
          async () => {
            const w = await whisper("checkout");
            return w?.status?.verification ? w : undefined;
          },
          180_000,
        );
        const s = applied.status?.sizing;
        assert.ok(s, "status.sizing");
        log(`sizing: ${JSON.stringify(s, null, 2)}`);
        assert.notEqual(s.confidence, "insufficient");
        assert.equal(s.container, "app");
        const recommended = parseQuantity(s.cpu.recommended) ?? 0;
        const [krr, vpa] = [
          ...(s.cpu.usageOnly ?? "").matchAll(/(\d+m|\d+(?:\.\d+)?)(?=,|$)/g),
        ].map((m) => parseQuantity(m[1]) ?? Infinity);
        assert.ok(krr !== undefined && vpa !== undefined, s.cpu.usageOnly);
        assert.ok(
          recommended > Math.max(krr, vpa),
          `kernel-aware ${s.cpu.recommended} > usage-only ${s.cpu.usageOnly}`,
        );
        // Before acting, the observer's throttling waited for the sizing window.
        assert.ok(
          applied.status?.actions?.some((a) =>
            a.result.startsWith("waiting for the sizing window"),
          ),
          JSON.stringify(applied.status?.actions),
        );
        const v = applied.status?.verification;
        assert.ok(v);
        assert.equal(v.from, "200m");
        assert.equal(v.to, s.cpu.recommended);
        assert.equal(await limitOf("checkout"), v.to);
        // The kubelet applied the resize to the cgroup the kernel enforces.
        await eventually(
          "the new quota in the container's cgroup",
          () => {
            const q = quotaCores(dir);
            return Promise.resolve(Math.abs(q - recommended) < 0.011 ? q : undefined);
          },
          60_000,
        );

        const done = await eventually(
          "the verdict on checkout's change",
          async () => {
            const w = await whisper("checkout");
            const p = w?.status?.verification?.phase;
            return p && p !== "watching" ? w : undefined;
          },
          WINDOW_MS + 60_000,
        );
        const d = done.status?.verification;
        assert.ok(d?.after);
        log(`verification: ${JSON.stringify(d, null, 2)}`);
        assert.equal(d.phase, "improved", d.reason);
        assert.ok(d.after.throttledShare < d.before.throttledShare, d.reason);
        // Cross-check with cpu.stat as this test read it, over the same two windows.
        const at = Date.parse(d.appliedAt);
        const kernelBefore = shareBetween(stats, at - WINDOW_MS, at);
        const kernelAfter = shareBetween(stats, at + 2_000, Date.parse(d.decideAt));
        log(
          `cpu.stat throttled share: before ${kernelBefore.toFixed(3)}, after ${kernelAfter.toFixed(3)}; operator: ${d.before.throttledShare} → ${d.after.throttledShare}`,
        );
        assert.ok(kernelAfter <= kernelBefore * 0.8, `${kernelBefore} → ${kernelAfter}`);
        assert.ok(Math.abs(kernelBefore - d.before.throttledShare) < 0.15);
        assert.ok(Math.abs(kernelAfter - d.after.throttledShare) < 0.15);
        assert.equal(await limitOf("checkout"), v.to, "an improvement is kept");
        printWhisper(log, done);
      } finally {
        clearInterval(timer);
      }
    });

    test("a change that cannot help a sleeping workload is rolled back", async () => {
      // Created now, so its history is still too thin for a sizing when the alert comes.
      const sleeper = pod(node.name, {
        name: "sleeper",
        namespace: ns,
        image: node.images.busybox.ref,
        command: ["/bin/sh", "-c", "while true; do sleep 0.2; done"],
        cpu: "200m",
        memory: "32Mi",
      });
      const c = await node.kubectl(["create", "-f", "-"], JSON.stringify(sleeper));
      assert.equal(c.code, 0, c.stderr);
      const dir = await running("sleeper");
      // A few seconds of history: the sizing is still too thin when the alert comes.
      await new Promise((r) => setTimeout(r, 4_000));
      const body = alertmanagerFullBody(
        {
          alertname: "KernelCpuThrottling",
          kernel_gossip_signal: "cpu-throttling",
          namespace: ns,
          pod: "sleeper",
          container: "app",
        },
        { kernel_gossip_value: "0.6", kernel_gossip_window: "1m" },
        "5eef",
      );
      const res = await fetch(`${op.url}/webhooks/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200);
      const applied = await eventually(
        "the alert's change on sleeper",
        async () => {
          const w = await whisper("sleeper");
          return w?.status?.verification ? w : undefined;
        },
        30_000,
      );
      assert.equal(applied.status?.sizing?.confidence, "insufficient");
      const v = applied.status.verification;
      assert.ok(v);
      assert.equal(v.from, "200m");
      assert.equal(await limitOf("sleeper"), v.to);

      const done = await eventually(
        "the rollback of sleeper's change",
        async () => {
          const w = await whisper("sleeper");
          const p = w?.status?.verification?.phase;
          return p && p !== "watching" && p !== "rollback-waiting" ? w : undefined;
        },
        WINDOW_MS + 60_000,
      );
      const d = done.status?.verification;
      assert.ok(d?.after);
      log(`verification: ${JSON.stringify(d, null, 2)}`);
      assert.equal(d.phase, "rolled-back", d.reason);
      assert.match(d.reason ?? "", /did not go down|got worse/);
      const rollback = done.status?.actions?.filter((a) => a.action === "rollback") ?? [];
      assert.equal(rollback.length, 1, JSON.stringify(done.status?.actions));
      const [rb] = rollback;
      assert.ok(rb);
      assert.equal(rb.mode, "applied");
      assert.match(rb.result, /^rollback: resize pod .* → 200m \(did not help: /);
      assert.equal(await limitOf("sleeper"), "200m");
      await eventually(
        "the old quota back in the container's cgroup",
        () => Promise.resolve(Math.abs(quotaCores(dir) - 0.2) < 0.001 ? true : undefined),
        60_000,
      );
      printWhisper(log, done);
    });
  },
);

function printWhisper(log: (l: string) => void, w: KernelWhisper) {
  log(
    JSON.stringify(
      {
        name: w.metadata.name,
        subject: w.spec.subject,
        source: w.spec.source,
        status: {
          recommendation: w.status?.recommendation,
          sizing: w.status?.sizing,
          verification: w.status?.verification,
          actions: w.status?.actions,
        },
      },
      null,
      2,
    ),
  );
}
