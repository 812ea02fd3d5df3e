// Kill and restart the API server while kernel events keep streaming: the
// operator keeps recording, its writes back off, and once the API server is
// back the whisper converges — its occurrence count equals the number of
// throttle episodes the observer published for the cgroup (none lost, none
// doubled). A birth event met by the outage is certified once the API server
// is back. Uses its own control plane, since it restarts kube-apiserver.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KernelWhisper } from "../shared/model/kernel-whisper.ts";
import type { PodBirthCertificate } from "../shared/model/pod-birth-certificate.ts";
import { startCluster, type Cluster } from "../local/runtime/cluster.ts";
import { cpuCgroup, type CpuCgroup } from "../../tests/env/cgroup.ts";
import { startObserver, type Observer } from "../local/runtime/observer.ts";
import { sleep } from "../local/runtime/process.ts";
import { birthEvidence, birthLine } from "../../tests/support/births.ts";
import type { RunningOperator } from "./operator.ts";
import { eventually, startTestOperator, testConfig } from "../../tests/support/operator.ts";

const NS = "kernel-gossip";
let cluster: Cluster;
let cg: CpuCgroup;
let observer: Observer;
let op: RunningOperator;

before(async () => {
  cluster = await startCluster();
  assert.equal((await cluster.kubectl(["create", "namespace", NS])).code, 0);
  cg = await cpuCgroup({ quotaCores: 0.2 });
  observer = await startObserver({ args: ["--sample-interval-ms", "250"] });
  op = await startTestOperator(
    testConfig(cluster.kubeconfig, NS, (c) => {
      c.observers.urls = [observer.url];
      c.whispers.quietPeriodMs = 10 * 60_000;
    }),
  );
});
after(async () => {
  for (const stop of [
    () => op.stop(),
    () => observer.stop(),
    () => cg.stop(),
    () => cluster.stop(),
  ]) {
    await stop().catch(() => undefined);
  }
});

/** Throttle episodes the observer published for `path` (from its replay buffer). */
async function publishedEpisodes(path: string): Promise<number> {
  const abort = new AbortController();
  const res = await fetch(`${observer.url}/events?since=0`, { signal: abort.signal });
  let text = "";
  const timer = setTimeout(() => abort.abort(), 1_000);
  try {
    for await (const chunk of res.body ?? []) text += Buffer.from(chunk as Uint8Array).toString();
  } catch {
    // aborted: the stream is live and never ends by itself
  } finally {
    clearTimeout(timer);
  }
  return (
    text
      .split("\n")
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            workload: { cgroup: string };
            evidence: { ongoing?: boolean };
          },
      )
      // Closed episodes only: progress reports of an episode count once, with it.
      .filter(
        (e) => e.type === "throttle_episode" && e.workload.cgroup === path && !e.evidence.ongoing,
      ).length
  );
}

async function whisper(): Promise<KernelWhisper | undefined> {
  const res = await cluster.kubectl(["get", "kw", "-n", NS, "-o", "json"]);
  if (res.code !== 0) return undefined;
  const items = (JSON.parse(res.stdout) as { items: KernelWhisper[] }).items;
  return items.find((w) => w.spec.subject.cgroupPath === cg.path);
}

const burst = async () => {
  await cg.startLoad();
  await sleep(1_200);
  await cg.stopLoad();
  await sleep(1_000); // an unthrottled sample closes the episode
};

test("no kernel event is lost while the API server is down; whispers converge", async () => {
  await burst();
  await eventually("first whisper", whisper, 15_000);

  const restart = cluster.restartApiServer(4_000);
  await burst(); // while the API server is down or coming back
  await burst();
  await restart;
  await burst();

  const published = await publishedEpisodes(cg.path);
  assert.ok(published >= 4, `observer published ${published} episodes`);
  const kw = await eventually(
    `whisper with ${published} occurrences`,
    async () => {
      const w = await whisper();
      return w?.spec.occurrences === published &&
        w.status?.observedGeneration === w.metadata.generation
        ? w
        : undefined;
    },
    30_000,
  );
  assert.equal(kw.status?.phase, "Active");
  const metrics = await (await fetch(`${op.url}/metrics`)).text();
  // The outage really hit the writer.
  assert.match(
    metrics,
    /kernel_gossip_operator_api_writes_total\{write="whisper",result="error"\} [1-9]/,
  );
});

test("a birth event that arrives while the API server is down is certified once it is back", async () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "born-in-outage", namespace: NS },
    spec: {
      automountServiceAccountToken: false,
      containers: [{ name: "app", image: "busybox:1.36", imagePullPolicy: "Never" }],
    },
  };
  const created = await cluster.kubectl(
    ["create", "-f", "-", "-o", "jsonpath={.metadata.uid}"],
    JSON.stringify(pod),
  );
  assert.equal(created.code, 0, created.stderr);
  const uid = created.stdout;
  const restart = cluster.restartApiServer(3_000);
  await sleep(500); // kube-apiserver is killed at once; the birth lands in the outage
  op.observerLine(
    birthLine({ namespace: NS, pod: "born-in-outage", podUID: uid }, birthEvidence(uid)),
  );
  await restart;
  const pbc = await eventually(
    "the certificate after the outage",
    async () => {
      const res = await cluster.kubectl(["get", "pbc", "-n", NS, "-o", "json"]);
      if (res.code !== 0) return undefined;
      const items = (JSON.parse(res.stdout) as { items: PodBirthCertificate[] }).items;
      return items.find((c) => c.spec.subject.pod === "born-in-outage" && c.status?.phase);
    },
    60_000,
  );
  assert.deepEqual(
    pbc.metadata.ownerReferences?.map((o) => o.uid),
    [uid],
  );
  const metrics = await (await fetch(`${op.url}/metrics`)).text();
  assert.match(
    metrics,
    /kernel_gossip_operator_birth_certificates_total\{result="retried"\} [1-9]/,
  );
  assert.match(metrics, /kernel_gossip_operator_birth_certificates_total\{result="created"\} 1\n/);
});
