// Leader election judged as client-go judges it (ADR 0077), against the real
// API server: a holder whose clock is far behind (its renewTime is years in
// the past) but that keeps renewing holds the lease — expiry counts from when
// this replica *saw* the record change, on its own clock; once the holder
// stops renewing, the standby takes over one lease duration later.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sleep } from "../local/runtime/process.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { RunningOperator } from "./operator.ts";
import { eventually, startTestOperator, testConfig } from "../../tests/support/operator.ts";

const LEASE = { leaseMs: 3_000, renewDeadlineMs: 2_000, retryMs: 300 };
let kube: TestCluster;
let ns: string;
let op: RunningOperator | undefined;

before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("lease-skew");
});
after(async () => {
  await op?.stop();
  await closeTestCluster();
});

/** The skewed holder's renewal: renewTime from a clock stuck in 2001, advancing. */
const renew = (n: number) =>
  kube.kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "kernel-gossip-operator", namespace: ns },
      spec: {
        holderIdentity: "skewed-clock",
        leaseDurationSeconds: 3,
        acquireTime: "2001-01-01T00:00:00.000000Z",
        renewTime: new Date(Date.UTC(2001, 0, 1, 0, 0, n)).toISOString().replace("Z", "000Z"),
      },
    }),
  );

test("a renewing holder with a skewed clock keeps the lease; a silent one loses it after the lease duration", async () => {
  let n = 0;
  assert.equal((await renew(n++)).code, 0);
  op = await startTestOperator(
    testConfig(
      kube.kubeconfig,
      ns,
      (c) => (c.leaderElection = { enabled: true, identity: "standby", ...LEASE }),
    ),
  );
  // Renewing every 500 ms for three lease durations: a renewTime-vs-local-clock
  // judgement would call this lease expired at once.
  const until = Date.now() + 3 * LEASE.leaseMs;
  while (Date.now() < until) {
    assert.equal(op.isLeader(), false, "took over a lease that is being renewed");
    assert.equal((await renew(n++)).code, 0);
    await sleep(500);
  }
  const silentFrom = Date.now();
  await eventually(
    "standby leads",
    () => Promise.resolve(op?.isLeader() ? true : undefined),
    10_000,
  );
  const waited = Date.now() - silentFrom;
  assert.ok(waited >= LEASE.leaseMs - 600, `took over ${waited} ms after the last renewal`);
});
