// `npm run cluster`: starts a local control plane with the CRDs installed and
// keeps it until Ctrl+C. `--ready-file F` writes {"kubeconfig","server","kubectl"}
// as JSON to F once ready (Rust tests and scripts use it); SIGTERM tears down.
import { writeFile } from "node:fs/promises";
import { startCluster } from "../../src/local/runtime/cluster.ts";

const readyIdx = process.argv.indexOf("--ready-file");
const readyFile = readyIdx > 0 ? process.argv[readyIdx + 1] : undefined;

const cluster = await startCluster({ log: (l) => console.error(`cluster: ${l}`) });
const info = {
  kubeconfig: cluster.kubeconfig,
  server: cluster.server,
  kubectl: cluster.binaries.kubectl,
};
console.log(`kubeconfig: ${cluster.kubeconfig}`);
console.log(`server:     ${cluster.server}`);
console.log(
  `try:        ${cluster.binaries.kubectl} --kubeconfig ${cluster.kubeconfig} get kw,pbc -A`,
);
if (readyFile) await writeFile(readyFile, JSON.stringify(info));

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  console.error("cluster: stopping");
  void cluster.stop().then(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Keep the event loop alive until a signal arrives.
setInterval(() => undefined, 1 << 30);
