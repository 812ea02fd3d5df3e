// Both alert paths, from the generated files, with real parts:
//  1. Prometheus + Alertmanager: a real Prometheus loads the shipped rule file
//     (provisioning/prometheus/kernel-gossip-rules.yaml) unmodified over the
//     real observer's metrics, the kernel OOM-kills a process in a memory
//     cgroup this test makes, the real Alertmanager posts to the operator and a
//     KernelWhisper appears.
//  2. Grafana's webhook contact point: Grafana cannot run here. The rule
//     kg-cpu-throttling is taken from the generated provisioning/alerting file,
//     its query A is evaluated by the real Prometheus over a cgroup the kernel
//     throttles, reduce (B) and threshold (C) are applied as the file says, and
//     the request Grafana's webhook notifier sends is built from the contract
//     (grafana-webhook-request.ts: body, bearer header and HMAC signature from
//     the contact point's settings after Grafana's ${VAR} expansion) and posted
//     to a real operator's /webhooks/grafana.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { startAlertmanager, type Alertmanager } from "../../local/runtime/alertmanager.ts";
import { cpuCgroup, type CpuCgroup } from "../../../tests/env/cgroup.ts";
import { startObserver, type Observer } from "../../local/runtime/observer.ts";
import { sleep } from "../../local/runtime/process.ts";
import { startPrometheus, type Prometheus } from "../../local/runtime/prometheus.ts";
import {
  closeTestCluster,
  testCluster,
  type TestCluster,
} from "../../../tests/env/test-cluster.ts";
import { loadConfig } from "../../operator/config.ts";
import type { RunningOperator } from "../../operator/operator.ts";
import {
  eventually,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../../tests/support/operator.ts";
import { RULES_PATH } from "../crds/generate.ts";
import { PROVISIONING } from "../grafana/files.ts";
import type { KernelWhisper } from "../model/kernel-whisper.ts";
import { HMAC_TIMESTAMP_HEADER } from "./grafana-alerting.ts";
import {
  grafanaWebhookRequest,
  interpolate,
  type ProvisionedAlerting,
} from "../../../tests/support/grafana/webhook-request.ts";

const MEMCG_ROOT = existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes")
  ? "/sys/fs/cgroup/memory"
  : "/sys/fs/cgroup";

// The environment a Grafana container and the operator would share (one Secret).
const ENV = {
  KG_WEBHOOK_TOKEN: randomBytes(16).toString("hex"),
  KG_WEBHOOK_HMAC_SECRET: randomBytes(16).toString("hex"),
  KG_WEBHOOK_HMAC_TIMESTAMP_HEADER: HMAC_TIMESTAMP_HEADER,
};

let kube: TestCluster;
let ns: string;
let observer: Observer;
let op: RunningOperator;
let am: Alertmanager;
let prom: Prometheus;

before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("grafana-alerts");
  observer = await startObserver({ args: ["--sample-interval-ms", "500"] });
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => (c.webhooks.auth = loadConfig(ENV).webhooks.auth)),
  );
  am = await startAlertmanager({
    webhookUrl: `${op.url}/webhooks/alertmanager`,
    bearerToken: ENV.KG_WEBHOOK_TOKEN,
  });
  prom = await startPrometheus({
    scrapeTargets: [{ url: observer.url, labels: { node: "local" } }],
    scrapeInterval: "1s",
    ruleFiles: [RULES_PATH],
    alertmanagerUrl: am.url,
  });
});
after(async () => {
  for (const stop of [() => prom.stop(), () => am.stop(), () => op.stop(), () => observer.stop()])
    await stop().catch(() => undefined);
  await closeTestCluster();
});

const whisper = (source: string, signal: string, cgroup: string) =>
  listWhispers(kube, ns).then((ws) =>
    ws.find(
      (w) =>
        w.spec.source === source &&
        w.spec.signal === signal &&
        w.spec.subject.cgroupPath === cgroup &&
        w.status?.insight,
    ),
  );

/** One real OOM kill: `tail /dev/zero` buffers an endless line inside a 16 MiB memcg. */
async function oomKill(dir: string) {
  await new Promise<void>((resolve) => {
    const c = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "SIGKILL",
        "sh",
        "-c",
        `echo $$ > ${dir}/cgroup.procs && exec tail /dev/zero`,
      ],
      { stdio: "ignore" },
    );
    c.on("exit", () => resolve());
  });
}

test("shipped Prometheus rules, unmodified: real OOM kill → Alertmanager → operator → KernelWhisper", async () => {
  const name = `kg-alert-oom-${process.pid}-${randomBytes(2).toString("hex")}`;
  const dir = join(MEMCG_ROOT, name);
  await mkdir(dir);
  try {
    const v1 = MEMCG_ROOT !== "/sys/fs/cgroup";
    const limit = String(16 * 2 ** 20);
    if (v1) await writeFile(join(dir, "memory.memsw.limit_in_bytes"), limit).catch(() => undefined);
    await writeFile(join(dir, v1 ? "memory.limit_in_bytes" : "memory.max"), limit);
    await oomKill(dir);
    // Rule interval 30s (the shipped file's), `for: 0s`, Alertmanager group_wait 1s.
    const kw = await eventually<KernelWhisper>(
      "OOM whisper from Alertmanager",
      () => whisper("alertmanager", "oom-kill", `/${name}`),
      120_000,
    );
    assert.equal(kw.spec.kernelTruth.attributes?.alertname, "KernelOomKill");
    assert.equal(kw.spec.severity, "critical");
    const kills = kw.spec.kernelTruth.quantities.find((q) => q.name === "oomKills");
    assert.ok(kills && kills.value >= 1 && kills.unit === "count", JSON.stringify(kills));
  } finally {
    for (let i = 0; i < 50 && existsSync(dir); i++) await rmdir(dir).catch(() => sleep(100));
  }
});

interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

test("Grafana contact point: the request Grafana's webhook notifier sends for kg-cpu-throttling, built from the contract, becomes a KernelWhisper", async () => {
  const file = parse(await readFile(PROVISIONING.alerting, "utf8")) as ProvisionedAlerting;
  const rule = file.groups.flatMap((g) => g.rules).find((r) => r.uid === "kg-cpu-throttling");
  assert.ok(rule);
  const model = (ref: string) => rule.data.find((d) => d.refId === ref)?.model ?? {};
  const expr = model("A").expr as string;
  const reduce = model("B") as { expression: string; reducer: string };
  const threshold = model("C") as {
    expression: string;
    conditions: { evaluator: { type: string; params: number[] } }[];
  };
  assert.deepEqual([reduce.expression, reduce.reducer, threshold.expression], ["A", "last", "B"]);
  const evaluator = threshold.conditions[0]?.evaluator;
  assert.equal(evaluator?.type, "gt");
  const limit = evaluator.params[0] ?? NaN;

  const cg: CpuCgroup = await cpuCgroup({ quotaCores: 0.2 });
  try {
    await cg.startLoad();
    // Query A, instant, as Grafana asks the Prometheus data source; B = last value of
    // the instant vector's series; C fires when B > the threshold's parameter.
    const series = await eventually<PromSeries>(
      "throttled series above the rule's threshold",
      async () => {
        const r = await fetch(`${prom.url}/api/v1/query`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ query: expr }),
        });
        const body = (await r.json()) as { data: { result: PromSeries[] } };
        return body.data.result.find(
          (s) => s.metric.cgroup === cg.path && Number(s.value[1]) > limit,
        );
      },
      60_000,
    );
    const b = Number(series.value[1]);
    const env = { ...ENV, KG_OPERATOR_URL: op.url };
    const grafana = interpolate(file, env);
    const req = grafanaWebhookRequest(
      grafana,
      "kg-cpu-throttling",
      { labels: series.metric, values: { B: b, C: 1 }, startsAt: new Date() },
      new Date(),
    );
    assert.equal(req.url, `${op.url}/webhooks/grafana`);
    assert.equal(req.headers.Authorization, `Bearer ${ENV.KG_WEBHOOK_TOKEN}`);

    // Tampering with one byte breaks the signature; the operator refuses it.
    const tampered = await fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body.replace('"firing"', '"firing" '),
    });
    assert.equal(tampered.status, 401);

    const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { accepted: 1, ignored: 0, reasons: {} });

    const kw = await eventually<KernelWhisper>(
      "whisper from the Grafana webhook",
      () => whisper("grafana", "cpu-throttling", cg.path),
      30_000,
    );
    assert.equal(kw.spec.subject.node, "local");
    assert.equal(kw.spec.severity, "warning");
    assert.equal(kw.spec.kernelTruth.attributes?.alertname, "KernelCpuThrottling");
    const ratio = kw.spec.kernelTruth.quantities.find((q) => q.name === "throttledPeriodsRatio");
    assert.equal(ratio?.unit, "ratio");
    assert.equal(ratio.value, Math.min(1, b));
    // A busy loop under a 0.2-core quota is throttled in most CFS periods.
    assert.ok(b > 0.5, `throttled ratio ${b}`);
    const metrics = await (await fetch(`${op.url}/metrics`)).text();
    assert.match(
      metrics,
      /kernel_gossip_operator_webhooks_total\{source="grafana",outcome="accepted"\} 1\b/,
    );
  } finally {
    await cg.stop();
  }
});
