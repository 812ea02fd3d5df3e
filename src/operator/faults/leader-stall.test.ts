// Fault: the leader's API traffic stalls (ADR 0077). Replica A reaches its own
// kube-apiserver (with an audit log) through a proxy the test pauses; replica
// B reaches it directly. Both get alerts all along (the standby answers 503).
// When A's traffic stalls, A must stop writing before its lease could expire
// (renew deadline from its last renewal's send time, enforced by a timer, with
// every request it had in flight aborted), B must take over once the lease
// expires as B observed it, and after the proxy resumes — delivering anything A
// still had queued — the API server's audit log must show no write by A after
// B's takeover. Uses its own control plane (the audit log is a server flag).
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { after, before, test } from "node:test";
import { startCluster, type Cluster } from "../../local/runtime/cluster.ts";
import { sleep } from "../../local/runtime/process.ts";
import { kubeconfigVia, stallProxy, type StallProxy } from "../../../tests/env/stall-proxy.ts";
import { LEASE_DEFAULTS } from "../leader.ts";
import type { RunningOperator } from "../operator.ts";
import { eventually, startTestOperator, testConfig } from "../../../tests/support/operator.ts";
import { alertmanagerBody } from "../../../tests/support/alertmanager-body.ts";

const NS = "kernel-gossip";
// The shipped timing (client-go's defaults): 15 s lease, 10 s renew deadline, 2 s retry.
const LEASE = LEASE_DEFAULTS;
let cluster: Cluster;
let proxy: StallProxy;
let viaProxy: string;
let a: RunningOperator;
let b: RunningOperator;
let driving = true;
let driver: Promise<void> | undefined;

interface AuditEvent {
  verb: string;
  userAgent?: string;
  requestReceivedTimestamp: string;
  responseStatus?: { code?: number };
  objectRef?: { resource?: string; name?: string; subresource?: string };
}

const replica = (identity: string, kubeconfig: string) =>
  startTestOperator(
    testConfig(kubeconfig, NS, (c) => {
      c.leaderElection = { enabled: true, identity, ...LEASE };
      // The shipped request deadline (10 s) outlasts the takeover: only the
      // term's fence keeps a request stuck in the stall from landing later.
      c.whispers.flushIntervalMs = 100;
    }),
  );

/** Alerts for a new subject every 100 ms to both replicas: the leader always has something to write. */
async function drive() {
  for (let i = 0; driving; i++) {
    const body = JSON.stringify(
      alertmanagerBody(
        {
          alertname: "KernelCpuThrottling",
          kernel_gossip_signal: "cpu-throttling",
          cgroup: `/stall-test/w${i % 40}`,
          node: "node-a",
        },
        { kernel_gossip_value: String((i % 90) / 100 + 0.05) },
        { startsAt: new Date().toISOString() },
      ),
    );
    await Promise.all(
      [a, b].map((op) =>
        fetch(`${op.url}/webhooks/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(2_000),
        }).catch(() => undefined),
      ),
    );
    await sleep(100);
  }
}

before(async () => {
  cluster = await startCluster({ audit: {} });
  assert.equal((await cluster.kubectl(["create", "namespace", NS])).code, 0);
  proxy = await stallProxy(new URL(cluster.server));
  viaProxy = await kubeconfigVia(cluster.kubeconfig, proxy.url, "replica-a");
  a = await replica("replica-a", viaProxy);
  await eventually("replica-a leads", () => Promise.resolve(a.isLeader() ? true : undefined));
  b = await replica("replica-b", cluster.kubeconfig);
  driver = drive();
});
after(async () => {
  driving = false;
  await driver;
  for (const stop of [() => b.stop(), () => a.stop(), () => proxy.stop(), () => cluster.stop()])
    await stop().catch(() => undefined);
  await rm(viaProxy, { force: true });
});

async function audit(): Promise<AuditEvent[]> {
  const text = await readFile(cluster.auditLog ?? "", "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditEvent);
}
const by = (identity: string) => (e: AuditEvent) =>
  e.userAgent?.startsWith(`kernel-gossip-operator/${identity}`) === true;
const at = (e: AuditEvent) => Date.parse(e.requestReceivedTimestamp);
const isLease = (e: AuditEvent) => e.objectRef?.resource === "leases";

test("a stalled leader stops writing before its lease expires; the standby takes over; no write from the old leader after", async () => {
  // A has been writing whispers through the proxy.
  await eventually("replica-a's whisper writes in the audit log", async () =>
    (await audit()).filter(by("replica-a")).some((e) => e.objectRef?.resource === "kernelwhispers")
      ? true
      : undefined,
  );
  assert.equal(b.isLeader(), false);

  proxy.pause();
  const paused = Date.now();
  let steppedDown = 0;
  let tookOver = 0;
  while (Date.now() - paused < 60_000 && !(steppedDown && tookOver)) {
    if (!steppedDown && !a.isLeader()) steppedDown = Date.now();
    if (!tookOver && b.isLeader()) tookOver = Date.now();
    await sleep(20);
  }
  assert.ok(steppedDown, "replica-a kept leading for 60 s with its API traffic stalled");
  assert.ok(tookOver, "replica-b never took over");
  assert.ok(
    steppedDown < tookOver,
    `replica-a stepped down ${steppedDown - paused} ms after the stall, replica-b took over at ${tookOver - paused} ms`,
  );

  // Let A's queued bytes through: anything it had not aborted would land now.
  await sleep(1_500);
  proxy.resume();
  await sleep(4_000);
  assert.equal(a.isLeader(), false, "replica-a took the lease back");
  assert.equal((await fetch(`${a.url}/readyz`)).status, 503);

  const events = await audit();
  const writes = events.filter((e) => e.verb !== "get" && e.verb !== "list" && e.verb !== "watch");
  // The takeover: B's first successful lease write.
  const takeover = writes.find(
    (e) => by("replica-b")(e) && isLease(e) && e.responseStatus?.code === 200,
  );
  assert.ok(takeover, "no lease write by replica-b in the audit log");
  const handover = at(takeover);
  const fromA = writes.filter(by("replica-a"));
  const lastA = Math.max(...fromA.map(at));
  const lateA = fromA.filter((e) => at(e) >= handover);
  assert.deepEqual(
    lateA.map(
      (e) =>
        `${e.verb} ${e.objectRef?.resource ?? ""}/${e.objectRef?.name ?? ""} at ${e.requestReceivedTimestamp}`,
    ),
    [],
    "writes by replica-a after replica-b took over",
  );
  // A's last lease write that the server accepted (its create, 201, when the stall
  // came before its first renewal, 200), and when that lease would have expired.
  const accepted = (e: (typeof fromA)[number]) =>
    e.responseStatus?.code === 200 || e.responseStatus?.code === 201;
  const lastRenewal = fromA.filter((e) => isLease(e) && accepted(e)).map(at);
  assert.ok(lastRenewal.length > 0, "no accepted lease write by replica-a in the audit log");
  const expiry = Math.max(...lastRenewal) + LEASE.leaseMs;
  assert.ok(
    lastA < expiry,
    `replica-a's last write at ${lastA} is after its lease expiry ${expiry}`,
  );
  // B writes whispers after taking over.
  assert.ok(
    writes.some(
      (e) => by("replica-b")(e) && e.objectRef?.resource === "kernelwhispers" && at(e) > handover,
    ),
    "replica-b wrote no whisper after taking over",
  );
  console.log(
    `leader stall: stepped down after ${steppedDown - paused} ms, standby leading after ${tookOver - paused} ms ` +
      `(lease ${LEASE.leaseMs} ms, renew deadline ${LEASE.renewDeadlineMs} ms, retry ${LEASE.retryMs} ms); ` +
      `replica-a's last write ${handover - lastA} ms before the handover; ` +
      `${proxy.dropped().connections} of its connections dropped unsent`,
  );
});
