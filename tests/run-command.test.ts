// The README's run command starts a local kube-apiserver with the CRDs and
// prints a kubeconfig that works (checked with the built kubectl), then stops
// cleanly on SIGTERM. Runs src/local/up.ts directly: `./kg run` = setup + this.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { kubeBinaries, REPO_ROOT } from "./env/binaries.ts";
import { runKubectl } from "./env/cluster.ts";

test("the run command serves the CRDs and prints a working kubeconfig", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "src/local/up.ts"], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  try {
    const deadline = Date.now() + 150_000;
    while (!out.includes("ready. Press Ctrl+C") && Date.now() < deadline) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(out, /ready\. Press Ctrl\+C/, out);
    const kubeconfig = /kubeconfig:\s+(\S+)/.exec(out)?.[1];
    assert.ok(kubeconfig && existsSync(kubeconfig), `no kubeconfig printed:\n${out}`);
    const res = await runKubectl(kubeBinaries().kubectl, kubeconfig, ["get", "kw,pbc", "-A"]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr + res.stdout, /No resources found/);
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.ok(!existsSync(kubeconfig), "temp dir left behind after stop");
  } finally {
    child.kill("SIGKILL");
  }
});
