// Birth certificates: how long N pod starts arriving at once take to become
// certificates (owner lookup, create, status, Event on the Pod) through the
// operator's /events line handler, beside a same-run baseline of N bare
// creates of the same objects with the same parallelism, and a re-delivery of
// all N (the update path). Input: birth events in the observer's shape
// (tests/support/births.ts) for N Pods created through the API server.
//   node --import tsx bench/operator/births.ts [--births 200]
// Prints figures; asserts nothing.
import { defaults } from "../../src/operator/config.ts";
import { loadKubeConfig } from "../../src/operator/kube.ts";
import { kubeHttp } from "../../src/operator/kube-http.ts";
import { logger } from "../../src/operator/log.ts";
import { startOperator } from "../../src/operator/operator.ts";
import { birthsApi } from "../../src/operator/births/api.ts";
import { buildCertificate } from "../../src/operator/births/build.ts";
import { birthEvidence, birthLine } from "../../tests/support/births.ts";
import { startCluster } from "../../src/local/runtime/cluster.ts";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg("births", 200);
const CONCURRENCY = 4; // the writer's
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const rate = (ms: number) => `${((N * 1000) / ms).toFixed(1)} /s`;

const cluster = await startCluster();
try {
  const ns = "bench-births";
  const base = "bench-births-baseline";
  for (const n of [ns, base, "kernel-gossip"]) await cluster.kubectl(["create", "namespace", n]);
  const pods = {
    apiVersion: "v1",
    kind: "List",
    items: Array.from({ length: N }, (_, i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `p-${i}`, namespace: ns },
      spec: { containers: [{ name: "app", image: "busybox:1.36", imagePullPolicy: "Never" }] },
    })),
  };
  const created = await cluster.kubectl(["create", "-f", "-", "-o", "name"], JSON.stringify(pods));
  if (created.code !== 0) throw new Error(created.stderr);
  const listedPods = await cluster.kubectl([
    "get",
    "pods",
    "-n",
    ns,
    "-o",
    'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}{"\\n"}{end}',
  ]);
  const uidOf = new Map(
    listedPods.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("=") as [string, string]),
  );
  const uids = Array.from({ length: N }, (_, i) => uidOf.get(`p-${i}`) ?? "");
  if (uids.some((u) => !u)) throw new Error(`pods missing: ${listedPods.stderr}`);

  // Baseline: the same certificates, bare creates, same parallelism.
  const api = birthsApi(
    loadKubeConfig(cluster.kubeconfig),
    kubeHttp({ timeoutMs: 30_000, userAgent: "kernel-gossip-bench" }),
  );
  const certs = uids.map((uid, i) =>
    buildCertificate({
      node: "bench",
      ts: new Date().toISOString(),
      namespace: base,
      pod: `p-${i}`,
      podUID: uid,
      evidence: birthEvidence(uid),
    }),
  );
  let t = performance.now();
  const queue = [...certs];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let c = queue.shift(); c; c = queue.shift())
        await api.create(c.namespace, c.name, c.labels, [], c.spec);
    }),
  );
  const baselineMs = performance.now() - t;

  const cfg = defaults();
  cfg.listen = "127.0.0.1:0";
  cfg.kubeconfig = cluster.kubeconfig;
  cfg.leaderElection.enabled = false;
  const op = await startOperator(cfg, logger("warn"));
  const lines = uids.map((uid, i) =>
    birthLine({ namespace: ns, pod: `p-${i}`, podUID: uid }, birthEvidence(uid), "bench"),
  );
  t = performance.now();
  for (const l of lines) op.observerLine(l);
  await op.birthsIdle();
  const firstMs = performance.now() - t;
  t = performance.now();
  for (const l of lines) op.observerLine(l);
  await op.birthsIdle();
  const againMs = performance.now() - t;
  const writes = await op.metrics.apiWrites.get();
  const results = await op.metrics.birthCertificates.get();
  await op.stop();
  const listed = await cluster.kubectl(["get", "pbc", "-n", ns, "--no-headers"]);
  const count = listed.stdout.trim().split("\n").filter(Boolean).length;

  console.log(`births: ${N} at once, writer parallelism ${CONCURRENCY}, one control plane`);
  console.log(
    `baseline  bare creates of the same objects   ${secs(baselineMs)}  ${rate(baselineMs)}`,
  );
  console.log(
    `operator  first delivery (GET pod, create, status, Event)  ${secs(firstMs)}  ${rate(firstMs)}`,
  );
  console.log(
    `operator  re-delivery (GET pod, create 409, GET, patch, status)  ${secs(againMs)}  ${rate(againMs)}`,
  );
  console.log(`certificates in ${ns}: ${count}`);
  for (const v of writes.values) console.log(`  api writes ${JSON.stringify(v.labels)} ${v.value}`);
  for (const v of results.values)
    console.log(`  certificates ${JSON.stringify(v.labels)} ${v.value}`);
} finally {
  await cluster.stop();
}
