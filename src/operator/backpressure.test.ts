// No silent loss when the API server stalls (ADR 0075): the operator's API
// traffic goes through a proxy the test pauses. Accepted alerts stay in memory
// and their writes are retried with backoff (counted); once the book holds as
// many unwritten whispers as it may, a webhook for a new subject gets 503 with
// Retry-After (the sender retries) instead of an accepted-then-lost 200; when
// the API answers again every accepted whisper is written and new work is
// accepted.
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, test } from "node:test";
import { kubeconfigVia, stallProxy, type StallProxy } from "../../tests/env/stall-proxy.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { RunningOperator } from "./operator.ts";
import {
  eventually,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../tests/support/operator.ts";
import { alertmanagerBody } from "../../tests/support/alertmanager-body.ts";

let kube: TestCluster;
let ns: string;
let proxy: StallProxy;
let viaProxy: string;
let op: RunningOperator;

before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("op-backpressure");
  const server = (
    await kube.kubectl([
      "config",
      "view",
      "--minify",
      "-o",
      "jsonpath={.clusters[0].cluster.server}",
    ])
  ).stdout;
  proxy = await stallProxy(new URL(server));
  viaProxy = await kubeconfigVia(kube.kubeconfig, proxy.url, "backpressure");
  op = await startTestOperator(
    testConfig(viaProxy, ns, (c) => {
      c.whispers.maxEntries = 2;
      c.api.timeoutMs = 1_000;
    }),
  );
});
after(async () => {
  await op.stop();
  await proxy.stop();
  await rm(viaProxy, { force: true });
  await closeTestCluster();
});

const alert = (pod: string) =>
  fetch(`${op.url}/webhooks/alertmanager`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(
      alertmanagerBody(
        { alertname: "KernelOomKill", kernel_gossip_signal: "oom-kill", namespace: ns, pod },
        { kernel_gossip_value: "1" },
        { startsAt: new Date().toISOString() },
      ),
    ),
  });

const metric = async (re: RegExp) => {
  const m = re.exec(await (await fetch(`${op.url}/metrics`)).text());
  return m ? Number(m[1]) : 0;
};

test("API stalled: accepted alerts are retried, a full book answers 503, nothing is lost", async () => {
  proxy.pause();
  assert.equal((await alert("a-0")).status, 200);
  assert.equal((await alert("b-0")).status, 200);
  // The writes time out (1 s) and are retried with backoff, counted by reason.
  await eventually(
    "counted retries",
    async () =>
      (await metric(
        /kernel_gossip_operator_whisper_retries_total\{reason="unavailable"\} (\d+)/,
      )) >= 2
        ? true
        : undefined,
    20_000,
  );
  const refused = await alert("c-0");
  assert.equal(refused.status, 503, "a third subject does not fit while two are unwritten");
  assert.equal(refused.headers.get("retry-after"), "5");
  assert.match(((await refused.json()) as { error: string }).error, /unwritten evidence/);
  // The same subjects still fold in: no new entry is needed.
  assert.equal((await alert("a-0")).status, 200);
  assert.equal(await metric(/kernel_gossip_operator_whispers_pending (\d+)/), 2);

  proxy.resume();
  const written = await eventually(
    "both accepted whispers written",
    async () => {
      const ws = await listWhispers(kube, ns);
      return ws.length === 2 && ws.every((w) => w.status?.phase === "Active") ? ws : undefined;
    },
    30_000,
  );
  const a = written.find((w) => w.spec.subject.pod === "a-0");
  assert.equal(a?.spec.occurrences, 2, "the alert accepted twice during the stall counts twice");
  // Room again: the sender's retry is accepted.
  assert.equal((await alert("c-0")).status, 200);
  await eventually("third whisper", async () =>
    (await listWhispers(kube, ns)).some((w) => w.spec.subject.pod === "c-0") ? true : undefined,
  );
});
