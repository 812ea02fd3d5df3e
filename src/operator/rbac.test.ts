// The operator runs under exactly the RBAC that deploy/base grants: with a
// ServiceAccount token bound by deploy/base/operator/rbac.yaml it elects a
// leader, reads the pod, writes the whisper, its status and an Event — and
// with actions "on" but without deploy/overlays/actions, the API refuses the
// patch (the action is audited as failed, the pod is unchanged). Birth
// certificates: owned, orphaned and swept under the same token.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import type { KernelWhisper } from "../shared/model/kernel-whisper.ts";
import { REPO_ROOT } from "../local/runtime/binaries.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import { birthEvidence, birthLine } from "../../tests/support/births.ts";
import type { RunningOperator } from "./operator.ts";
import type { PodBirthCertificate } from "../shared/model/pod-birth-certificate.ts";
import {
  CPU_LIMIT,
  EVENT_REASONS,
  eventually,
  field,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../tests/support/operator.ts";
import { alertmanagerBody } from "../../tests/support/alertmanager-body.ts";

let kube: TestCluster;
let op: RunningOperator;
let ns: string;

async function serviceAccountKubeconfig(): Promise<string> {
  const admin = parse(await readFile(kube.kubeconfig, "utf8")) as {
    clusters: { cluster: { server: string; "certificate-authority": string } }[];
  };
  const cluster = admin.clusters[0]?.cluster;
  assert.ok(cluster);
  const token = await kube.kubectl([
    "create",
    "token",
    "kernel-gossip-operator",
    "-n",
    "kernel-gossip",
    "--duration=1h",
  ]);
  assert.equal(token.code, 0, token.stderr);
  const path = `${kube.kubeconfig}.operator-sa`;
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster }],
      users: [{ name: "operator", user: { token: token.stdout.trim() } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "operator" } }],
      "current-context": "c",
    }),
    { mode: 0o600 },
  );
  return path;
}

before(async () => {
  kube = await testCluster();
  for (const f of ["deploy/base/namespace.yaml", "deploy/base/operator/rbac.yaml"]) {
    const res = await kube.kubectl(["apply", "--server-side", "-f", join(REPO_ROOT, f)]);
    assert.equal(res.code, 0, res.stderr);
  }
  ns = await kube.namespace("op-rbac");
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: ns },
    spec: {
      automountServiceAccountToken: false,
      containers: [
        {
          name: "app",
          image: "busybox:1.36",
          resources: { limits: { cpu: "500m" }, requests: { cpu: "100m" } },
        },
      ],
    },
  };
  assert.equal((await kube.kubectl(["apply", "-f", "-"], JSON.stringify(pod))).code, 0);
  op = await startTestOperator(
    testConfig(await serviceAccountKubeconfig(), "kernel-gossip", (c) => {
      c.leaderElection = {
        enabled: true,
        identity: "rbac-test",
        leaseMs: 15_000,
        renewDeadlineMs: 10_000,
        retryMs: 500,
      };
      c.actions = { ...c.actions, mode: "on", namespaces: [ns] };
      c.births = { enabled: true, maxAgeMs: 0, maxPerNamespace: 1, sweepIntervalMs: 3_600_000 };
    }),
  );
});
after(async () => {
  await op.stop();
  await closeTestCluster();
});

test("the base RBAC lets the operator do its job and nothing more", async () => {
  await eventually("leadership", () => Promise.resolve(op.isLeader() ? true : undefined));
  const body = alertmanagerBody(
    {
      alertname: "T",
      kernel_gossip_signal: "cpu-throttling",
      namespace: ns,
      pod: "web",
      container: "app",
    },
    { kernel_gossip_value: "0.5" },
  );
  const res = await fetch(`${op.url}/webhooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  const kw = await eventually<KernelWhisper>("whisper with an action record", async () => {
    const [w] = await listWhispers(kube, ns);
    return w?.status?.actions?.length ? w : undefined;
  });
  assert.equal(kw.status?.recommendation?.change?.from, "500m");
  const record = kw.status.actions?.[0];
  assert.ok(record);
  assert.equal(record.mode, "failed");
  assert.match(record.result, /^resize pod .*: HTTP 403/);
  assert.equal(await field(kube, "pod/web", ns, CPU_LIMIT), "500m");
  assert.match(await field(kube, "events", ns, EVENT_REASONS), /KernelWhisper/);
});

test("the base RBAC lets the operator certify births and sweep orphans, not more", async () => {
  await eventually("leadership", () => Promise.resolve(op.isLeader() ? true : undefined));
  const uid = await field(kube, "pod/web", ns, ".metadata.uid");
  const gone = ["00000000-0000-4000-8000-0000000000b1", "00000000-0000-4000-8000-0000000000b2"];
  op.observerLine(birthLine({ namespace: ns, pod: "web", podUID: uid }, birthEvidence(uid)));
  // One after another: retention orders orphans by creation (whole seconds), then birth.
  for (const [i, g] of gone.entries()) {
    await op.birthsIdle();
    const start = `2026-11-25T09:0${i}:00Z`;
    op.observerLine(
      birthLine({ namespace: ns, pod: `gone-${i}`, podUID: g }, birthEvidence(g, { start })),
    );
  }
  await op.birthsIdle();
  const list = async () => {
    const res = await kube.kubectl(["get", "pbc", "-n", ns, "-o", "json"]);
    assert.equal(res.code, 0, res.stderr);
    return (JSON.parse(res.stdout) as { items: PodBirthCertificate[] }).items;
  };
  const all = await list();
  assert.equal(all.length, 3);
  const owned = all.find((c) => c.spec.subject.pod === "web");
  assert.deepEqual(
    owned?.metadata.ownerReferences?.map((o) => o.uid),
    [uid],
  );
  assert.equal(owned.status?.phase, "Complete");
  assert.match(await field(kube, "events", ns, EVENT_REASONS), /BirthCertified/);

  assert.ok((await op.sweepBirths()) >= 1); // other namespaces may hold orphans too
  assert.deepEqual((await list()).map((c) => c.spec.subject.pod).sort(), ["gone-1", "web"]);
  const can = async (verb: string, resource: string) =>
    (
      await kube.kubectl([
        "auth",
        "can-i",
        verb,
        resource,
        "-n",
        ns,
        "--as=system:serviceaccount:kernel-gossip:kernel-gossip-operator",
      ])
    ).stdout.trim();
  assert.equal(await can("delete", "podbirthcertificates.kernel.gossip.io"), "yes");
  assert.equal(await can("update", "podbirthcertificates.kernel.gossip.io"), "no");
  assert.equal(await can("delete", "pods"), "no");
});
