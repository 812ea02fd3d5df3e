// Every install manifest in deploy/ passes a server-side dry-run apply against
// the real API server (admission, schema and RBAC validation included).
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { closeTestCluster, testCluster, type TestCluster } from "./env/test-cluster.ts";

const DEPLOY = join(REPO_ROOT, "deploy");
const manifests = readdirSync(DEPLOY, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith(".yaml") && e.name !== "kustomization.yaml")
  .map((e) => relative(REPO_ROOT, join(e.parentPath, e.name)))
  .sort();

let kube: TestCluster;
before(async () => {
  kube = await testCluster();
  // Namespaced objects can only be dry-run into a namespace that exists.
  const ns = await kube.kubectl([
    "apply",
    "--server-side",
    "-f",
    join(DEPLOY, "base/namespace.yaml"),
  ]);
  assert.equal(ns.code, 0, ns.stderr);
});
after(() => closeTestCluster());

test("deploy/ holds the install manifests", () => {
  assert.ok(manifests.length >= 12, `only ${manifests.length} manifests: ${manifests.join(", ")}`);
});

for (const file of manifests) {
  test(`server-side dry-run: ${file}`, async () => {
    const res = await kube.kubectl([
      "apply",
      "--server-side",
      "--dry-run=server",
      "-f",
      join(REPO_ROOT, file),
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /serverside-applied \(server dry run\)/);
  });
}

for (const dir of ["deploy", "deploy/overlays/actions"]) {
  test(`server-side dry-run of the kustomization: ${dir}`, async () => {
    const res = await kube.kubectl([
      "apply",
      "--server-side",
      "--dry-run=server",
      "-k",
      join(REPO_ROOT, dir),
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /daemonset\.apps\/kernel-gossip-observer serverside-applied/);
  });
}

test("the actions overlay alone grants workload patching and turns actions on", async () => {
  const base = await kube.kubectl(["kustomize", join(DEPLOY)]);
  const actions = await kube.kubectl(["kustomize", join(DEPLOY, "overlays/actions")]);
  assert.equal(base.code, 0, base.stderr);
  assert.equal(actions.code, 0, actions.stderr);
  // No role in the base may write to workloads: only our CRDs, Events and the leader Lease.
  for (const doc of parseAllDocuments(base.stdout)) {
    const obj = doc.toJS() as {
      kind?: string;
      rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    if (obj.kind !== "ClusterRole" && obj.kind !== "Role") continue;
    for (const rule of obj.rules ?? []) {
      const writes = rule.verbs.some((v) => ["create", "update", "patch", "delete"].includes(v));
      if (!writes) continue;
      assert.ok(
        rule.apiGroups.every((g) => g === "kernel.gossip.io") ||
          rule.resources.every((r) => r === "events") ||
          (rule.apiGroups.every((g) => g === "coordination.k8s.io") &&
            rule.resources.every((r) => r === "leases")),
        `base grants writes beyond CRDs/events: ${JSON.stringify(rule)}`,
      );
    }
  }
  assert.doesNotMatch(base.stdout, /kernel-gossip-operator-actions/);
  assert.match(actions.stdout, /name: kernel-gossip-operator-actions/);
  assert.match(actions.stdout, /name: KG_ACTIONS\s+value: "on"/);
  assert.match(base.stdout, /name: KG_ACTIONS\s+value: "off"/);
});

test("the operator's base role grants birth certificates exactly what the births writer uses", async () => {
  const base = await kube.kubectl(["kustomize", join(DEPLOY)]);
  assert.equal(base.code, 0, base.stderr);
  const role = parseAllDocuments(base.stdout)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; rules?: Rule[] })
    .find((o) => o.kind === "ClusterRole" && o.metadata?.name === "kernel-gossip-operator");
  assert.ok(role?.rules);
  const verbs = (resource: string) =>
    role.rules
      ?.filter((r) => r.resources.includes(resource))
      .flatMap((r) => r.verbs)
      .sort();
  // create, get + patch on a re-delivery, list + delete for the orphan sweep.
  assert.deepEqual(verbs("podbirthcertificates"), ["create", "delete", "get", "list", "patch"]);
  assert.deepEqual(verbs("podbirthcertificates/status"), ["patch"]);
  assert.deepEqual(verbs("pods"), ["get", "list", "watch"]);
});

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
