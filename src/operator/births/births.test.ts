// Birth events → PodBirthCertificates, against the real API server. Each event
// enters through the operator's /events line handler (the function the
// observer streams call), with Pods created through the API (no kubelet: they
// stay Pending, which is all a certificate needs). The test control plane has
// no kube-controller-manager, so the garbage collector never runs here: the
// tests assert the ownerReference it would act on, not the deletion.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { loadKubeConfig } from "../kube.ts";
import { kubeHttp } from "../kube-http.ts";
import { createBirthSource } from "../../gateway/sources/crds.ts";
import { birthsFrame, selectBirths, timelineFrame } from "../../gateway/queries/births.ts";
import type { PodBirthCertificate } from "../../shared/model/pod-birth-certificate.ts";
import {
  closeTestCluster,
  testCluster,
  type TestCluster,
} from "../../../tests/env/test-cluster.ts";
import type { RunningOperator } from "../operator.ts";
import { eventually, startTestOperator, testConfig } from "../../../tests/support/operator.ts";
import { birthsApi } from "./api.ts";
import { birthWriter } from "./writer.ts";
import { birthEvidence, birthLine } from "../../../tests/support/births.ts";
import { logger } from "../log.ts";

let kube: TestCluster;
let op: RunningOperator;

before(async () => {
  kube = await testCluster();
  op = await startTestOperator(
    testConfig(kube.kubeconfig, "kernel-gossip", (c) => {
      // Sweeps run when a test asks (sweepBirths), not on a timer mid-test.
      c.births = { enabled: true, maxAgeMs: 0, maxPerNamespace: 2, sweepIntervalMs: 3_600_000 };
    }),
  );
});
after(async () => {
  await op.stop();
  await closeTestCluster();
});

async function createPod(ns: string, name: string, nodeName?: string): Promise<string> {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: {
      automountServiceAccountToken: false,
      ...(nodeName ? { nodeName } : {}),
      containers: [{ name: "app", image: "busybox:1.36", imagePullPolicy: "Never" }],
    },
  };
  const res = await kube.kubectl(
    ["create", "-f", "-", "-o", "jsonpath={.metadata.uid}"],
    JSON.stringify(pod),
  );
  assert.equal(res.code, 0, res.stderr);
  return res.stdout;
}

async function listPbc(ns: string): Promise<PodBirthCertificate[]> {
  const res = await kube.kubectl(["get", "pbc", "-n", ns, "-o", "json"]);
  assert.equal(res.code, 0, res.stderr);
  return (JSON.parse(res.stdout) as { items: PodBirthCertificate[] }).items;
}

async function feed(...lines: string[]) {
  for (const l of lines) op.observerLine(l);
  await op.birthsIdle();
}

const metric = async (
  m: { get: () => Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> },
  labels: Record<string, string> = {},
) =>
  (await m.get()).values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((n, v) => n + v.value, 0);

/** `kubectl get events` of reason BirthCertified in a namespace, by name. */
const birthCertifiedEvents = (ns: string) =>
  kube.kubectl([
    "get",
    "events",
    "-n",
    ns,
    "--field-selector",
    "reason=BirthCertified",
    "-o",
    "name",
  ]);
test("a birth event becomes a certificate owned by its Pod (GC not run here: ownerReference asserted)", async () => {
  const ns = await kube.namespace("pbc-owned");
  const uid = await createPod(ns, "web");
  await feed(birthLine({ namespace: ns, pod: "web", podUID: uid }, birthEvidence(uid)));

  const [pbc, ...rest] = await listPbc(ns);
  assert.ok(pbc);
  assert.equal(rest.length, 0);
  assert.deepEqual(pbc.metadata.ownerReferences, [
    { apiVersion: "v1", kind: "Pod", name: "web", uid },
  ]);
  assert.equal(pbc.metadata.labels?.["kernel.gossip.io/orphan"], undefined);
  assert.equal(pbc.spec.subject.podUID, uid);
  assert.equal(pbc.spec.timeline.length, 6);
  assert.equal(pbc.spec.timeline[5]?.comm, "sleep", "comm is kept by the CRD schema");
  assert.equal(pbc.status?.phase, "Complete");
  assert.equal(pbc.status.observedGeneration, pbc.metadata.generation);
  assert.equal(pbc.status.conditions?.[0]?.reason, "EntrypointExecuted");

  // What a person sees: kubectl's printer columns from the CRD.
  const table = await kube.kubectl(["get", "pbc", "-n", ns]);
  assert.equal(table.code, 0, table.stderr);
  const [header, row] = table.stdout
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/));
  assert.deepEqual(header, [
    "NAME",
    "POD",
    "NODE",
    "DURATION-S",
    "SYSCALLS",
    "EXECS",
    "PHASE",
    "AGE",
  ]);
  assert.deepEqual(row?.slice(0, 7), [
    pbc.metadata.name,
    "web",
    "node-test",
    "0.041",
    "5210",
    "4",
    "Complete",
  ]);

  const events = await kube.kubectl(["get", "events", "-n", ns, "-o", "json"]);
  const items = (
    JSON.parse(events.stdout) as {
      items: { reason: string; message: string; involvedObject: { uid: string } }[];
    }
  ).items;
  const certified = items.filter((e) => e.reason === "BirthCertified");
  assert.equal(certified.length, 1);
  assert.equal(certified[0]?.involvedObject.uid, uid);
  assert.match(
    certified[0].message,
    /5210 syscalls, 7 namespaces, 2 cgroups, 2 cgroup file writes, 9 forks, 4 execs in 41\.0 ms/,
  );
});

test("a re-delivered event updates the certificate in place", async () => {
  const ns = await kube.namespace("pbc-redeliver");
  const uid = await createPod(ns, "api");
  const evidence = birthEvidence(uid);
  await feed(birthLine({ namespace: ns, pod: "api", podUID: uid }, evidence));
  const [first] = await listPbc(ns);
  assert.ok(first);

  // The same window again (e.g. after an operator restart), then corrected content.
  await feed(birthLine({ namespace: ns, pod: "api", podUID: uid }, evidence));
  await feed(
    birthLine(
      { namespace: ns, pod: "api", podUID: uid },
      { ...evidence, syscalls: 6000, truncated: true },
    ),
  );
  const all = await listPbc(ns);
  assert.equal(all.length, 1);
  const [now] = all;
  assert.equal(now?.metadata.uid, first.metadata.uid, "same object, not recreated");
  assert.equal(now?.spec.kernelStats.syscalls, 6000);
  assert.equal(now.spec.truncated, true);
  assert.equal(now.metadata.generation, 2, "identical content does not bump the generation");
  assert.equal(now.status?.observedGeneration, 2);
  assert.deepEqual(
    now.metadata.ownerReferences?.map((o) => o.uid),
    [uid],
  );
  const events = await birthCertifiedEvents(ns);
  assert.equal(
    events.stdout.trim().split("\n").length,
    1,
    "one BirthCertified Event per certificate",
  );
});

test("a Pod deleted before the write gives an orphan certificate, not a crash", async () => {
  const ns = await kube.namespace("pbc-orphan");
  const uid = await createPod(ns, "short-lived");
  const del = await kube.kubectl(["delete", "pod", "short-lived", "-n", ns, "--wait=true"]);
  assert.equal(del.code, 0, del.stderr);
  // A successor with the same name is another life: it must not own the old birth.
  const successor = await createPod(ns, "stateful-0");
  const before = await metric(op.metrics.birthOrphans);
  await feed(
    birthLine({ namespace: ns, pod: "short-lived", podUID: uid }, birthEvidence(uid)),
    birthLine(
      { namespace: ns, pod: "stateful-0", podUID: "0b0e6c3e-dead-4bee-8bad-000000000001" },
      birthEvidence(successor),
    ),
  );
  const all = await listPbc(ns);
  assert.equal(all.length, 2);
  for (const c of all) {
    assert.equal(c.metadata.ownerReferences, undefined, c.spec.subject.pod);
    assert.equal(c.metadata.labels?.["kernel.gossip.io/orphan"], "true");
    assert.equal(c.status?.phase, "Complete");
  }
  assert.equal((await metric(op.metrics.birthOrphans)) - before, 2);
  const events = await birthCertifiedEvents(ns);
  assert.equal(events.stdout.trim(), "", "no Event for a Pod that is gone");
});

test("the retention sweep deletes the oldest orphans beyond the per-namespace count", async () => {
  const ns = await kube.namespace("pbc-sweep");
  const starts = ["10:00", "10:01", "10:02", "10:03"].map((t) => `2026-11-25T${t}:00Z`);
  // One after another: retention orders orphans by creation (whole seconds), then birth.
  for (const [i, start] of starts.entries()) {
    const uid = `00000000-0000-4000-8000-00000000000${i}`;
    await feed(
      birthLine({ namespace: ns, pod: `gone-${i}`, podUID: uid }, birthEvidence(uid, { start })),
    );
  }
  assert.equal((await listPbc(ns)).length, 4);
  const swept = await metric(op.metrics.birthOrphansSwept, { reason: "count" });
  assert.ok((await op.sweepBirths()) >= 2);
  const left = (await listPbc(ns)).map((c) => c.spec.subject.pod).sort();
  assert.deepEqual(left, ["gone-2", "gone-3"], "the two newest births stay");
  assert.ok((await metric(op.metrics.birthOrphansSwept, { reason: "count" })) - swept >= 2);
});

test("the sweep deletes orphans past their maximum age (writer with its own retention)", async () => {
  const ns = await kube.namespace("pbc-age");
  const log = logger("warn");
  const writer = birthWriter({
    api: birthsApi(
      loadKubeConfig(kube.kubeconfig),
      kubeHttp({ timeoutMs: 10_000, userAgent: "kernel-gossip-test" }),
    ),
    metrics: op.metrics,
    log,
    retention: { maxAgeMs: 1_000, maxPerNamespace: 0, sweepIntervalMs: 3_600_000 },
  });
  const uid = "00000000-0000-4000-8000-0000000000aa";
  const base = { node: "node-test", ts: new Date().toISOString(), namespace: ns, podUID: uid };
  writer.submit({ ...base, pod: "old", evidence: birthEvidence(uid) });
  await writer.idle();
  assert.equal((await listPbc(ns)).length, 1);
  // creationTimestamp has whole seconds: wait past the age with a margin.
  await new Promise((r) => setTimeout(r, 2_200));
  await writer.sweep();
  assert.equal((await listPbc(ns)).length, 0);
  assert.ok((await metric(op.metrics.birthOrphansSwept, { reason: "age" })) >= 1);
});

test("ten births at once give ten separate certificates", async () => {
  const ns = await kube.namespace("pbc-ten");
  const pods = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => ({
      name: `burst-${i}`,
      uid: await createPod(ns, `burst-${i}`),
    })),
  );
  await feed(
    ...pods.map((p, i) =>
      birthLine(
        { namespace: ns, pod: p.name, podUID: p.uid },
        birthEvidence(p.uid, { syscalls: 1000 + i }),
      ),
    ),
  );
  const all = await listPbc(ns);
  assert.equal(all.length, 10);
  for (const p of pods) {
    const c = all.find((x) => x.spec.subject.pod === p.name);
    assert.ok(c, p.name);
    assert.deepEqual(
      c.metadata.ownerReferences?.map((o) => [o.name, o.uid]),
      [[p.name, p.uid]],
    );
    assert.equal(c.spec.kernelStats.syscalls, 1000 + Number(p.name.split("-")[1]));
    assert.equal(c.status?.phase, "Complete");
  }
});

test("births without a pod are counted, a UID-only birth is named through the API", async () => {
  const ns = await kube.namespace("pbc-naming");
  const noPod = await metric(op.metrics.birthEventsSkipped, { reason: "no-pod" });
  const unresolved = await metric(op.metrics.birthEventsSkipped, { reason: "unresolved" });
  // The observer without API access knows the pod only by the UID in its cgroup path.
  const uid = await createPod(ns, "bound", "node-test");
  await feed(birthLine({}, birthEvidence("not-a-pod")));
  await feed(birthLine({ podUID: "11111111-2222-4333-8444-555555555555" }, birthEvidence("x")));
  assert.equal((await metric(op.metrics.birthEventsSkipped, { reason: "no-pod" })) - noPod, 1);
  assert.equal(
    (await metric(op.metrics.birthEventsSkipped, { reason: "unresolved" })) - unresolved,
    1,
  );

  await feed(birthLine({ podUID: uid }, birthEvidence(uid)));
  const [c] = await listPbc(ns);
  assert.equal(c?.spec.subject.pod, "bound");
  assert.deepEqual(
    c.metadata.ownerReferences?.map((o) => o.uid),
    [uid],
  );
});

test("an incomplete capture and a refused write (namespace gone) are handled", async () => {
  const ns = await kube.namespace("pbc-incomplete");
  const uid = await createPod(ns, "slow");
  const failed = await metric(op.metrics.birthCertificates, { result: "failed" });
  await feed(
    birthLine(
      { namespace: "no-such-namespace-pbc", pod: "ghost", podUID: uid },
      birthEvidence(uid),
    ),
    birthLine(
      { namespace: ns, pod: "slow", podUID: uid },
      birthEvidence(uid, { complete: false, closeReason: "timeout", durationSeconds: 30 }),
    ),
  );
  assert.equal((await metric(op.metrics.birthCertificates, { result: "failed" })) - failed, 1);
  const [c] = await listPbc(ns);
  assert.equal(c?.status?.phase, "Incomplete");
  assert.equal(c.status.conditions?.[0]?.status, "False");
  assert.equal(c.status.conditions[0].reason, "CaptureTimeout");
  const table = await kube.kubectl(["get", "pbc", "-n", ns, "--no-headers"]);
  assert.match(table.stdout, /slow\s+node-test\s+30\s+5210\s+4\s+Incomplete/);
});

test("the gateway's births query reads the certificates the operator writes", async () => {
  const ns = await kube.namespace("pbc-gateway");
  const uid = await createPod(ns, "shown");
  await feed(birthLine({ namespace: ns, pod: "shown", podUID: uid }, birthEvidence(uid)));
  const source = createBirthSource(loadKubeConfig(kube.kubeconfig));
  try {
    const mine = await eventually("the gateway's informer to see the certificate", () => {
      const hit = source.list().filter((b) => b.metadata.namespace === ns);
      return Promise.resolve(hit.length ? hit : undefined);
    });
    const t = Date.parse("2026-11-25T22:30:01.123456Z");
    const sel = selectBirths(mine, {
      fromMs: t - 1000,
      toMs: t + 1000,
      filters: { namespace: [ns] },
      maxRows: 10,
    });
    assert.equal(sel.rows.length, 1);
    const table = birthsFrame("A", sel.rows, sel.truncated);
    const col = (name: string) => table.fields.find((f) => f.name === name)?.values;
    assert.deepEqual(col("pod"), ["shown"]);
    assert.deepEqual(col("podUID"), [uid]);
    assert.deepEqual(col("phase"), ["Complete"]);
    assert.deepEqual(col("syscalls"), [5210]);
    assert.deepEqual(col("namespacesCreated"), [7]);
    assert.deepEqual(col("cgroupFilesWritten"), [2]);
    assert.deepEqual(col("duration"), [0.041]);
    const [cert] = sel.rows;
    assert.ok(cert);
    const tl = timelineFrame("B", cert);
    assert.deepEqual(tl.fields.find((f) => f.name === "actor")?.values, [
      "kubelet",
      "runtime",
      "runtime",
      "kernel",
      "runtime",
      "container",
    ]);
    assert.deepEqual(
      tl.fields.find((f) => f.name === "offset")?.values,
      [0, 900, 2100, 3300, 3400, 41000],
    );
  } finally {
    await source.stop();
  }
});

test("only the leader certifies births; a standby records nothing", async () => {
  const ns = await kube.namespace("pbc-lease");
  const uid = await createPod(ns, "led");
  const withLease = (id: string) =>
    testConfig(kube.kubeconfig, ns, (c) => {
      c.leaderElection = {
        enabled: true,
        identity: id,
        leaseMs: 4_000,
        renewDeadlineMs: 3_000,
        retryMs: 300,
      };
      c.births = { enabled: true, maxAgeMs: 0, maxPerNamespace: 0, sweepIntervalMs: 3_600_000 };
    });
  const a = await startTestOperator(withLease("births-a"));
  let b: RunningOperator | undefined;
  try {
    await eventually("a leads", () => Promise.resolve(a.isLeader() ? true : undefined));
    b = await startTestOperator(withLease("births-b"));
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(b.isLeader(), false);
    const line = birthLine({ namespace: ns, pod: "led", podUID: uid }, birthEvidence(uid));
    b.observerLine(line);
    await b.birthsIdle();
    assert.equal((await listPbc(ns)).length, 0, "the standby wrote nothing");
    assert.equal(await metric(b.metrics.birthCertificates), 0);

    await a.stop(); // releases the lease
    const standby = b;
    await eventually("b leads", () => Promise.resolve(standby.isLeader() ? true : undefined));
    standby.observerLine(line);
    await standby.birthsIdle();
    const [c] = await listPbc(ns);
    assert.deepEqual(
      c?.metadata.ownerReferences?.map((o) => o.uid),
      [uid],
    );
  } finally {
    await a.stop();
    await b?.stop();
  }
});

test("a birth at every bound, with maximal strings, is still stored", async () => {
  const ns = await kube.namespace("pbc-huge");
  const uid = await createPod(ns, "huge");
  const long = (i: number) => `/${"d".repeat(4000)}/${i}`;
  const evidence = birthEvidence(uid, {
    timeline: Array.from({ length: 600 }, (_, i) => ({
      offsetMicroseconds: i,
      actor: i === 599 ? ("container" as const) : ("runtime" as const),
      action: "exec",
      detail: "x".repeat(1024),
    })),
    cgroupsCreated: Array.from({ length: 256 }, (_, i) => ({ hierarchy: "memory", path: long(i) })),
    cgroupFilesWritten: Array.from({ length: 512 }, (_, i) => ({ path: long(i), value: "1" })),
  });
  await feed(birthLine({ namespace: ns, pod: "huge", podUID: uid }, evidence));
  const [c] = await listPbc(ns);
  assert.equal(c?.spec.truncated, true);
  assert.equal(c.status?.phase, "Complete");
  assert.ok(c.spec.timeline.some((s) => s.actor === "container"));
});
