// The informers survive an API server outage: the gateway reaches the real API
// server through a loopback TCP proxy this file controls; cutting the proxy
// breaks the watches, objects change meanwhile, and once the path is back the
// caches converge on the API server's state (re-list after the watch error).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse, stringify } from "yaml";
import { freePort } from "../local/runtime/cluster.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { RunningGateway } from "./gateway.ts";
import { cleanupStack, eventually, startTestGateway } from "../../tests/support/gateway.ts";

/** A TCP relay that can be cut (listener closed, live connections reset) and restored. */
function tcpProxy(port: number, target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      server = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const down = async () => {
    // close() waits for open connections, so reset them after asking it to stop listening.
    const closed = new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
    for (const s of sockets) s.resetAndDestroy();
    await closed;
  };
  return { up, down };
}

let kube: TestCluster;
let ns: string;
let dir: string;
let gw: RunningGateway;
let proxy: ReturnType<typeof tcpProxy>;
const cleanup = cleanupStack();

const whisper = (name: string) =>
  JSON.stringify({
    apiVersion: "kernel.gossip.io/v1alpha1",
    kind: "KernelWhisper",
    metadata: { name, namespace: ns },
    spec: {
      subject: { namespace: ns, pod: `${name}-0` },
      signal: "oom-kill",
      severity: "critical",
      kernelTruth: {
        window: { start: "2026-11-25T10:00:00Z", end: "2026-11-25T10:00:01Z" },
        quantities: [{ name: "kills", value: 1, unit: "count" }],
      },
      source: "observer",
      firstSeen: "2026-11-25T10:00:00Z",
      lastSeen: "2026-11-25T10:00:00Z",
      occurrences: 1,
    },
  });

const names = () =>
  gw.ctx.sources.whispers
    .list()
    .filter((w) => w.metadata.namespace === ns)
    .map((w) => w.metadata.name)
    .sort();

before(async () => {
  cleanup.defer(() => closeTestCluster());
  kube = await testCluster();
  ns = await kube.namespace("gw-informer");
  dir = await mkdtemp(join(tmpdir(), "kg-gw-informer-"));
  cleanup.defer(() => rm(dir, { recursive: true, force: true }));
  const config = parse(await readFile(kube.kubeconfig, "utf8")) as {
    clusters: { cluster: { server: string } }[];
  };
  const cluster = config.clusters[0]?.cluster;
  if (!cluster) throw new Error("kubeconfig without a cluster");
  const api = new URL(cluster.server);
  const port = await freePort();
  proxy = tcpProxy(port, { host: api.hostname, port: Number(api.port) });
  await proxy.up();
  cleanup.defer(() => proxy.down());
  cluster.server = `https://127.0.0.1:${port}`;
  const viaProxy = join(dir, "kubeconfig");
  await writeFile(viaProxy, stringify(config), { mode: 0o600 });
  gw = await startTestGateway({ KUBECONFIG: viaProxy });
  cleanup.defer(() => gw.close());
});

after(() => cleanup.run());

test("after a cut connection to the API server the caches re-list and converge", async () => {
  const created = await kube.kubectl(["apply", "-f", "-"], whisper("before-cut"));
  assert.equal(created.code, 0, created.stderr);
  await eventually(
    "first whisper cached",
    () => Promise.resolve(names().includes("before-cut") ? true : undefined),
    20_000,
  );

  await proxy.down();
  await eventually(
    "watch error noticed",
    () => Promise.resolve(gw.ctx.sources.whispers.status().state === "degraded" ? true : undefined),
    20_000,
  );
  // Still ready: a degraded cache keeps answering from memory.
  const ready = await fetch(`${gw.url}/readyz`);
  assert.equal(ready.status, 200);

  // Changes the gateway cannot see while cut off.
  const later = await kube.kubectl(["apply", "-f", "-"], whisper("during-cut"));
  assert.equal(later.code, 0, later.stderr);
  const gone = await kube.kubectl(["delete", "kw", "before-cut", "-n", ns]);
  assert.equal(gone.code, 0, gone.stderr);
  assert.deepEqual(names(), ["before-cut"]);

  await proxy.up();
  await eventually(
    "cache converged after reconnect",
    () => Promise.resolve(names().join() === "during-cut" ? true : undefined),
    60_000,
  );
  await eventually(
    "source ready again",
    () => Promise.resolve(gw.ctx.sources.whispers.status().state === "ready" ? true : undefined),
    20_000,
  );
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(
    metrics,
    /kernel_gossip_gateway_source_errors_total\{source="kernelwhispers"\} [1-9]/,
  );
});
