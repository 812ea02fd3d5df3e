// `./kg run`: starts everything that exists, locally, on embedded defaults, and
// prints where each part is. Until a cluster is configured (KUBECONFIG), the
// embedded Kubernetes is a local etcd + kube-apiserver with the CRDs installed.
// Ctrl+C (or SIGTERM) stops everything it started.
import { startCluster, type Cluster } from "../../tests/env/cluster.ts";

interface Running {
  name: string;
  lines: string[];
  stop(): Promise<void>;
}

async function kubernetes(): Promise<Running> {
  const cluster: Cluster = await startCluster({ log: (l) => console.error(`  kubernetes: ${l}`) });
  return {
    name: "kubernetes (local etcd + kube-apiserver, CRDs installed)",
    lines: [
      `API server:  ${cluster.server}`,
      `kubeconfig:  ${cluster.kubeconfig}`,
      `try:         export KUBECONFIG=${cluster.kubeconfig}`,
      `             ${cluster.binaries.kubectl} get kw,pbc -A`,
    ],
    stop: () => cluster.stop(),
  };
}

async function main(): Promise<void> {
  const running: Running[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.error("\nkernel-gossip: stopping");
    for (const r of running.reverse()) await r.stop().catch((e: unknown) => console.error(e));
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  try {
    console.error("kernel-gossip: starting kubernetes");
    running.push(await kubernetes());
  } catch (err) {
    console.error(
      `kernel-gossip: failed to start: ${err instanceof Error ? err.message : String(err)}`,
    );
    await stopAll(1);
    return;
  }

  console.log("\nkernel-gossip is running:");
  for (const r of running) {
    console.log(`\n  ${r.name}`);
    for (const l of r.lines) console.log(`    ${l}`);
  }
  console.log("\nready. Press Ctrl+C to stop.");
  setInterval(() => undefined, 1 << 30);
}

await main();
