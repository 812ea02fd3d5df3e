// The cluster a test file uses. tests/run.ts starts one control plane per test
// run and passes it down in KG_TEST_KUBECONFIG; a file run on its own starts
// its own. Each test takes a fresh namespace for isolation. Call
// closeTestCluster() from the file's top-level after() hook.
import { randomBytes } from "node:crypto";
import { kubeBinaries } from "../../src/local/runtime/binaries.ts";
import { runKubectl, startCluster, type KubectlResult } from "../../src/local/runtime/cluster.ts";

export interface TestCluster {
  kubeconfig: string;
  kubectl: (args: string[], input?: string) => Promise<KubectlResult>;
  /** Creates a namespace that is deleted when the test file ends. */
  namespace: (prefix: string) => Promise<string>;
}

let shared: Promise<TestCluster> | undefined;
let cleanups: (() => Promise<unknown>)[] = [];

export function testCluster(): Promise<TestCluster> {
  shared ??= open();
  return shared;
}

async function open(): Promise<TestCluster> {
  let kubeconfig = process.env.KG_TEST_KUBECONFIG;
  let kubectl: TestCluster["kubectl"];
  if (kubeconfig) {
    const bin = kubeBinaries().kubectl;
    const path = kubeconfig;
    kubectl = (args, input) => runKubectl(bin, path, args, input);
  } else {
    const c = await startCluster();
    cleanups.push(() => c.stop());
    kubeconfig = c.kubeconfig;
    kubectl = c.kubectl;
  }
  const created: string[] = [];
  cleanups.unshift(async () => {
    if (created.length) await kubectl(["delete", "namespace", "--wait=false", ...created]);
  });
  return {
    kubeconfig,
    kubectl,
    async namespace(prefix) {
      const name = `${prefix}-${randomBytes(3).toString("hex")}`;
      const res = await kubectl(["create", "namespace", name]);
      if (res.code !== 0) throw new Error(`create namespace ${name}: ${res.stderr}`);
      created.push(name);
      return name;
    },
  };
}

export async function closeTestCluster(): Promise<void> {
  const todo = cleanups;
  cleanups = [];
  shared = undefined;
  for (const fn of todo) await fn();
}
