// The README's run command (`./kg run` = setup + src/local/up.ts) starts the
// local all-in-one: a kube-apiserver with the CRDs and a printed kubeconfig
// that works with the built kubectl; the observer serving this machine's
// kernel signals; the operator, Prometheus, Alertmanager and the gateway.
// Provoking CPU throttling on this machine then shows up as a KernelWhisper in
// `kubectl get kw` and in the gateway's whispers query.
// SIGTERM stops everything and removes the control plane's temp dir.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { METRIC } from "../src/shared/signals/catalogue.ts";
import { kubeBinaries, REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { cpuCgroup } from "./env/cgroup.ts";
import { runKubectl } from "../src/local/runtime/cluster.ts";
import { sleep } from "../src/local/runtime/process.ts";

const url = (out: string, label: string) =>
  new RegExp(`${label}:\\s+(http://\\S+?)(/\\S*)?(,|\\s|$)`).exec(out)?.[1];

test("the run command starts everything and turns local throttling into a whisper", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/local/up.ts"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    // Reuse the test build of the observer instead of a release build.
    env: { ...process.env, KG_OBSERVER_PROFILE: "debug" },
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  const cg = await cpuCgroup({ quotaCores: 0.2 });
  try {
    const deadline = Date.now() + 240_000;
    while (
      !out.includes("ready. Press Ctrl+C") &&
      Date.now() < deadline &&
      child.exitCode === null
    ) {
      await sleep(200);
    }
    assert.match(out, /ready\. Press Ctrl\+C/, out);
    const kubeconfig = /kubeconfig:\s+(\S+)/.exec(out)?.[1];
    assert.ok(kubeconfig && existsSync(kubeconfig), `no kubeconfig printed:\n${out}`);
    const kubectl = (args: string[]) => runKubectl(kubeBinaries().kubectl, kubeconfig, args);
    const empty = await kubectl(["get", "kw,pbc", "-A"]);
    assert.equal(empty.code, 0, empty.stderr);

    const metricsUrl = url(out, "metrics");
    assert.ok(metricsUrl, out);
    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    assert.ok(metrics.includes(`${METRIC.runqueue}_bucket{`), metrics.slice(0, 2000));
    assert.match(out, /webhooks:\s+http:\/\/127\.0\.0\.1:\d+\/webhooks\/grafana/);
    assert.match(out, /prometheus[\s\S]*UI\/API:\s+http/);

    await cg.startLoad();
    await sleep(2_000);
    await cg.stopLoad();
    let table = "";
    for (let i = 0; i < 75 && !table.includes("cpu-throttling"); i++) {
      await sleep(200);
      table = (await kubectl(["get", "kw", "-n", "kernel-gossip", "-o", "wide"])).stdout;
    }
    assert.match(table, /cpu-throttling/, `no throttling whisper:\n${table}\n${out}`);
    assert.match(table, /raise-cpu-limit/);

    // The gateway serves the same whisper to the Grafana data source.
    const api = /API:\s+(http:\/\/\S+)\/api\/v1/.exec(out)?.[1];
    const token = /token:\s+Authorization: Bearer (\S+)\n\s+log:\s+\S+gateway\.log/.exec(out)?.[1];
    assert.ok(api && token, `gateway URL or token not printed:\n${out}`);
    const now = Date.now();
    const res = await fetch(`${api}/api/v1/query`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        queries: [
          { refId: "A", type: "whispers", range: { from: now - 600_000, to: now + 60_000 } },
        ],
      }),
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /cpu-throttling/);

    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.ok(!existsSync(kubeconfig), "control plane dir left behind after stop");
  } finally {
    child.kill("SIGKILL");
    await cg.stop();
  }
});
