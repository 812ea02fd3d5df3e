// `npx tsx tests/env/node-cli.ts [--kubeconfig K] [--ready-file F]`: a real test
// node (kubelet + containerd + runc) until Ctrl+C, against the control plane in
// K or, without it, a fresh one. `--ready-file F` writes JSON with the
// kubeconfig, node name, kubectl path and image references once the node is
// Ready (scripts and benchmarks use it). SIGINT/SIGTERM tear everything down
// and print what, if anything, was left changed on the host.
import { writeFile } from "node:fs/promises";
import { kubeBinaries } from "../../src/local/runtime/binaries.ts";
import { startCluster, type Cluster } from "../../src/local/runtime/cluster.ts";
import { startNode } from "../../src/local/runtime/node.ts";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const log = (l: string) => {
  console.error(`node: ${l}`);
};

let cluster: Cluster | undefined;
let kubeconfig = arg("--kubeconfig");
if (!kubeconfig) {
  cluster = await startCluster({ log });
  kubeconfig = cluster.kubeconfig;
}
const node = await startNode({ kubeconfig, log });
const info = {
  kubeconfig,
  node: node.name,
  nodeIp: node.nodeIp,
  cgroupRoot: node.cgroupRoot,
  kubectl: kubeBinaries().kubectl,
  images: { busybox: node.images.busybox.ref, nginx: node.images.nginx.ref },
};
console.log(JSON.stringify(info, null, 2));
console.log(`try: ${info.kubectl} --kubeconfig ${kubeconfig} get nodes -o wide`);
const readyFile = arg("--ready-file");
if (readyFile) await writeFile(readyFile, JSON.stringify(info));

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  log("stopping");
  void node
    .stop()
    .then(async (report) => {
      log(`leftovers: ${report.leftovers.length ? report.leftovers.join("; ") : "none"}`);
      await cluster?.stop();
    })
    .finally(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
setInterval(() => undefined, 1 << 30);
