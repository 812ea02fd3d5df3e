// The alerting path with real parts: the real observer exposes a cgroup the
// kernel throttles, a real Prometheus (Debian) scrapes it and evaluates the
// project's rules (fast variant: 5s window, no `for`), a real Alertmanager
// posts to /webhooks/alertmanager with a bearer token, and a KernelWhisper
// appears with source alertmanager.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import type { KernelWhisper } from "../shared/model/kernel-whisper.ts";
import { prometheusRules } from "../shared/alerts/prometheus-rules.ts";
import { startAlertmanager, type Alertmanager } from "../local/runtime/alertmanager.ts";
import { cpuCgroup, type CpuCgroup } from "../../tests/env/cgroup.ts";
import { startObserver, type Observer } from "../local/runtime/observer.ts";
import { startPrometheus, type Prometheus } from "../local/runtime/prometheus.ts";
import { closeTestCluster, testCluster, type TestCluster } from "../../tests/env/test-cluster.ts";
import type { RunningOperator } from "./operator.ts";
import {
  eventually,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../tests/support/operator.ts";

const TOKEN = "am-token";
let kube: TestCluster;
let ns: string;
let cg: CpuCgroup;
let observer: Observer;
let op: RunningOperator;
let am: Alertmanager;
let prom: Prometheus;

before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("op-alerting");
  cg = await cpuCgroup({ quotaCores: 0.2 });
  observer = await startObserver({ args: ["--sample-interval-ms", "500"] });
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => (c.webhooks.auth.token = TOKEN)),
  );
  am = await startAlertmanager({
    webhookUrl: `${op.url}/webhooks/alertmanager`,
    bearerToken: TOKEN,
  });
  const rules = join(tmpdir(), `kg-rules-${process.pid}.yaml`);
  await writeFile(
    rules,
    stringify(
      prometheusRules({ window: "5s", for: "0s", interval: "1s", matchers: `cgroup="${cg.path}"` }),
    ),
  );
  prom = await startPrometheus({
    scrapeTargets: [{ url: observer.url, labels: { node: "local" } }],
    scrapeInterval: "1s",
    ruleFiles: [rules],
    alertmanagerUrl: am.url,
  });
});
after(async () => {
  for (const stop of [
    () => prom.stop(),
    () => am.stop(),
    () => op.stop(),
    () => observer.stop(),
    () => cg.stop(),
  ]) {
    await stop().catch(() => undefined);
  }
  await closeTestCluster();
});

test("Prometheus rule → Alertmanager → operator webhook → KernelWhisper", async () => {
  await cg.startLoad();
  const kw = await eventually<KernelWhisper>(
    "whisper from Alertmanager",
    async () =>
      (await listWhispers(kube, ns)).find(
        // The busy loop also trips the run-queue rule (truly); we want the throttling one.
        (w) =>
          w.spec.source === "alertmanager" &&
          w.spec.signal === "cpu-throttling" &&
          w.status?.insight,
      ),
    60_000,
  );
  const stat = await cg.cpuStat();
  assert.equal(kw.spec.signal, "cpu-throttling");
  assert.equal(kw.spec.subject.cgroupPath, cg.path);
  assert.equal(kw.spec.subject.node, "local");
  assert.equal(kw.spec.kernelTruth.attributes?.alertname, "KernelCpuThrottling");
  const ratio =
    kw.spec.kernelTruth.quantities.find((q) => q.name === "throttledPeriodsRatio")?.value ?? 0;
  // A busy loop under a 0.2-core quota is throttled in nearly every period.
  assert.ok(ratio > 0.5 && ratio <= 1, `ratio ${ratio}`);
  assert.ok(stat.nrThrottled > 0);
  const metrics = await (await fetch(`${op.url}/metrics`)).text();
  assert.match(
    metrics,
    /kernel_gossip_operator_webhooks_total\{source="alertmanager",outcome="accepted"\} [1-9]/,
  );
});
