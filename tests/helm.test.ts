// The Helm chart (charts/kernel-gossip) renders for default and non-default
// values; its output passes a server-side dry-run apply against the real API
// server; its CRDs are deploy/crds/ byte for byte in substance; and its objects
// equal the kustomize install (deploy/, deploy/overlays/actions) in what
// matters: kinds and names, RBAC rules, images, ports, privileges, env.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { helmTemplate, parseObjects, type K8sObject } from "./env/helm.ts";
import { closeTestCluster, testCluster, type TestCluster } from "./env/test-cluster.ts";

const PLUGIN_ID = "kernelgossip-kernel-datasource";
// Prometheus Operator kinds: their CRDs are not in the test API server, so they are
// checked for shape here and left out of the dry-run (named in the test titles).
const PROM_OPERATOR = new Set(["ServiceMonitor", "PodMonitor", "PrometheusRule"]);

let kube: TestCluster;
before(async () => {
  kube = await testCluster();
});
after(() => closeTestCluster());

const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
const byKey = (objs: K8sObject[]) => new Map(objs.map((o) => [key(o), o]));

async function kustomize(dir: string): Promise<K8sObject[]> {
  const r = await kube.kubectl(["kustomize", join(REPO_ROOT, dir)]);
  assert.equal(r.code, 0, r.stderr);
  return parseObjects(r.stdout);
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { name: string; containerPort: number }[];
  securityContext?: unknown;
  volumeMounts?: unknown;
}
interface PodSpec {
  hostPID?: boolean;
  serviceAccountName?: string;
  securityContext?: unknown;
  containers: Container[];
  volumes?: unknown;
}

/** What a workload means, without labels or formatting. */
function substance(o: K8sObject): unknown {
  const spec = o.spec as Record<string, unknown> | undefined;
  switch (o.kind) {
    case "ClusterRole":
    case "Role":
      return o.rules;
    case "ClusterRoleBinding":
    case "RoleBinding":
      return { roleRef: o.roleRef, subjects: o.subjects };
    case "Service":
      return { ports: spec?.ports, selector: spec?.selector, clusterIP: spec?.clusterIP };
    case "DaemonSet":
    case "Deployment": {
      const pod = (spec?.template as { spec: PodSpec }).spec;
      return {
        replicas: spec?.replicas,
        selector: spec?.selector,
        hostPID: pod.hostPID,
        serviceAccountName: pod.serviceAccountName,
        securityContext: pod.securityContext,
        volumes: pod.volumes,
        containers: pod.containers.map((c) => ({
          name: c.name,
          image: c.image,
          args: c.args,
          // Order-free: kustomize's strategic merge reorders env entries.
          env: [...(c.env ?? [])].sort((a, b) => a.name.localeCompare(b.name)),
          ports: c.ports,
          securityContext: c.securityContext,
          volumeMounts: c.volumeMounts,
        })),
      };
    }
    case "Namespace":
      return o.metadata.labels?.["pod-security.kubernetes.io/enforce"];
    default:
      return spec ?? null;
  }
}

function assertSameInstall(chart: K8sObject[], kust: K8sObject[]) {
  const c = byKey(chart);
  const k = byKey(kust);
  assert.deepEqual([...c.keys()].sort(), [...k.keys()].sort(), "objects (kind/namespace/name)");
  for (const [id, want] of k) {
    assert.deepEqual(substance(c.get(id) as K8sObject), substance(want), id);
    // Selectors of workloads and Services must still match the pod labels they select.
    const labels = c.get(id)?.metadata.labels ?? {};
    if (want.kind !== "CustomResourceDefinition" && want.kind !== "Namespace") {
      assert.equal(labels["app.kubernetes.io/part-of"], "kernel-gossip", `${id} labels`);
    }
  }
}

async function dryRun(text: string) {
  const objs = parseObjects(text).filter((o) => !PROM_OPERATOR.has(o.kind));
  const yaml = objs.map((o) => JSON.stringify(o)).join("\n---\n");
  const r = await kube.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], yaml);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /daemonset\.apps\/kernel-gossip-observer serverside-applied \(server dry run\)/,
  );
  return objs.length;
}

test("default values render the same install as `kubectl apply -k deploy/`", async () => {
  const { objects } = await helmTemplate("kernel-gossip");
  assertSameInstall(objects, await kustomize("deploy"));
});

test("the chart's CRDs equal deploy/crds/", async () => {
  const { objects } = await helmTemplate("kernel-gossip");
  const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
  for (const file of ["kernelwhispers.yaml", "podbirthcertificates.yaml"]) {
    const want = parse(readFileSync(join(REPO_ROOT, "deploy/crds", file), "utf8")) as K8sObject;
    const got = crds.find((o) => o.metadata.name === want.metadata.name);
    assert.deepEqual(got, want, file);
  }
  assert.equal(crds.length, 2);
});

test("operator.actions=on renders the same install as deploy/overlays/actions", async () => {
  const { objects } = await helmTemplate("kernel-gossip", ["operator.actions=on"]);
  assertSameInstall(objects, await kustomize("deploy/overlays/actions"));
});

test("default render passes a server-side dry-run apply (CRDs, namespace, components)", async () => {
  const { text, objects } = await helmTemplate("kernel-gossip");
  // Namespaced objects dry-run only into a namespace that exists: create it for real first.
  const ns = objects.find((o) => o.kind === "Namespace");
  assert.ok(ns);
  const r = await kube.kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(ns));
  assert.equal(r.code, 0, r.stderr);
  assert.ok((await dryRun(text)) >= 20);
});

test("non-default values render and pass a server-side dry-run (Prometheus Operator kinds checked for shape only: no CRDs here)", async () => {
  const ns = await kube.namespace("kg-helm");
  const { text, objects } = await helmTemplate(ns, [
    "namespace.create=false",
    "image.registry=registry.example/kg",
    "image.tag=1.2.3",
    "gateway.image.tag=1.2.4",
    "operator.replicas=1",
    "operator.actions=dry-run",
    "observer.bpfStats=true",
    "observer.signals=cpu\\,oom",
    "gateway.prometheusUrl=http://prometheus.monitoring.svc:9090",
    "gateway.tokens={t0k3n-a,t0k3n-b}",
    "monitoring.serviceMonitor.enabled=true",
    "monitoring.podMonitor.enabled=true",
    "monitoring.prometheusRule.enabled=true",
    "grafana.datasources.enabled=true",
    "grafana.datasources.prometheusUrl=http://prometheus.monitoring.svc:9090",
    "grafana.dashboards.enabled=true",
  ]);
  const get = (kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(o, `${kind}/${name} not rendered`);
    return o;
  };
  assert.equal(
    objects.find((o) => o.kind === "Namespace"),
    undefined,
    "namespace.create=false still renders a Namespace",
  );
  for (const o of objects) if (o.metadata.namespace) assert.equal(o.metadata.namespace, ns, key(o));

  const podOf = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;
  const observer = podOf(get("DaemonSet", "kernel-gossip-observer")).containers[0];
  assert.equal(observer?.image, "registry.example/kg/observer:1.2.3");
  assert.deepEqual(observer.args, [
    "run",
    "--listen",
    "0.0.0.0:9464",
    "--signals",
    "cpu,oom",
    "--bpf-stats",
  ]);
  assert.deepEqual(
    (observer.securityContext as { capabilities: { add: string[] } }).capabilities.add,
    ["BPF", "PERFMON", "SYS_ADMIN"],
    "BPF stats need CAP_SYS_ADMIN",
  );
  const gateway = podOf(get("Deployment", "kernel-gossip-gateway")).containers[0];
  assert.equal(gateway?.image, "registry.example/kg/gateway:1.2.4");
  assert.equal(
    gateway.env?.find((e) => e.name === "KG_PROMETHEUS_URL")?.value,
    "http://prometheus.monitoring.svc:9090",
  );
  const op = get("Deployment", "kernel-gossip-operator");
  assert.equal((op.spec as { replicas: number }).replicas, 1);
  assert.equal(
    podOf(op).containers[0]?.env?.find((e) => e.name === "KG_ACTIONS")?.value,
    "dry-run",
  );
  assert.ok(
    !objects.some((o) => o.metadata.name === "kernel-gossip-operator-actions"),
    "dry-run must not grant patch rights",
  );
  const secret = get("Secret", "kernel-gossip-gateway") as K8sObject & {
    stringData: { tokens: string };
  };
  assert.deepEqual(secret.stringData.tokens.trim().split("\n"), ["t0k3n-a", "t0k3n-b"]);

  // Grafana provisioning: the data source is our plugin pointed at the gateway Service.
  const cm = get("ConfigMap", "kernel-gossip-grafana-datasources") as K8sObject & {
    data: Record<string, string>;
  };
  assert.equal(cm.metadata.labels?.grafana_datasource, "1");
  const ds = parse(cm.data["kernel-gossip.yaml"] ?? "") as {
    datasources: { type: string; uid: string; url: string; jsonData?: { gatewayUrl?: string } }[];
  };
  assert.equal(ds.datasources[0]?.type, PLUGIN_ID);
  assert.equal(ds.datasources[0].url, `http://kernel-gossip-gateway.${ns}.svc:8080`);
  // The plugin's own setting and the uid the dashboards name.
  assert.equal(ds.datasources[0].jsonData?.gatewayUrl, ds.datasources[0].url);
  assert.equal(ds.datasources[0].uid, "kernel-gossip-gateway");
  assert.equal(ds.datasources[1]?.type, "prometheus");
  const pluginJson = join(REPO_ROOT, "src/plugin/src/plugin.json");
  if (existsSync(pluginJson)) {
    assert.equal((JSON.parse(readFileSync(pluginJson, "utf8")) as { id: string }).id, PLUGIN_ID);
  }
  // One dashboard ConfigMap per dashboards/*.json (none until the Grafana issue lands).
  const dashboards = readdirSync(join(REPO_ROOT, "dashboards")).filter((f) => f.endsWith(".json"));
  assert.equal(
    objects.filter((o) => o.metadata.labels?.grafana_dashboard === "1").length,
    dashboards.length,
  );

  // Prometheus Operator objects: shape only.
  const sm = get("ServiceMonitor", "kernel-gossip") as K8sObject & {
    spec: { endpoints: { port: string }[] };
  };
  assert.equal(sm.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(sm.spec.endpoints[0]?.port, "http");
  const pm = get("PodMonitor", "kernel-gossip-observer") as K8sObject & {
    spec: { selector: { matchLabels: Record<string, string> } };
  };
  assert.equal(pm.spec.selector.matchLabels["app.kubernetes.io/name"], "kernel-gossip-observer");
  const rule = get("PrometheusRule", "kernel-gossip") as K8sObject & {
    spec: { groups: unknown[] };
  };
  const shipped = parse(
    readFileSync(join(REPO_ROOT, "provisioning/prometheus/kernel-gossip-rules.yaml"), "utf8"),
  ) as { groups: unknown[] };
  assert.deepEqual(
    rule.spec.groups,
    shipped.groups,
    "PrometheusRule must carry the shipped rules unchanged",
  );

  assert.ok((await dryRun(text)) >= 20);
});

test("an invalid operator.actions is refused at render time", async () => {
  await assert.rejects(
    helmTemplate("kernel-gossip", ["operator.actions=yes"]),
    /operator\.actions must be off, dry-run or on/,
  );
});
