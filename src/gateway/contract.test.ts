// Contract: schemathesis (PyPI) generates requests from /openapi.json, valid
// and invalid, and checks every answer: no 5xx, documented status codes and
// content types, bodies that match the documented schemas, invalid input
// rejected. The gateway runs against the real API server and a real (empty)
// Prometheus, so signal queries exercise real PromQL with fuzzed label values.
// Skips, saying why, only when schemathesis cannot be installed.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { REPO_ROOT } from "../local/runtime/binaries.ts";
import { startPrometheus } from "../local/runtime/prometheus.ts";
import { closeTestCluster, testCluster } from "../../tests/env/test-cluster.ts";
import type { RunningGateway } from "./gateway.ts";
import { cleanupStack, startTestGateway, TOKEN } from "../../tests/support/gateway.ts";

export const SCHEMATHESIS = "schemathesis==4.32.5";

// In a temp dir: schemathesis keeps its example database under the working directory.
const run = (cmd: string, args: string[], timeoutMs: number) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    const opts = { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, cwd: tmpdir() };
    execFile(cmd, args, opts, (e, stdout, stderr) =>
      resolve({
        code: e ? (typeof e.code === "number" ? e.code : 1) : 0,
        out: `${stdout}${stderr}`,
      }),
    );
  });

/** The schemathesis CLI, installed with pip if missing; undefined (with the reason) if impossible. */
async function schemathesis(): Promise<{ bin?: string; why?: string }> {
  if ((await run("schemathesis", ["--version"], 60_000)).code === 0) return { bin: "schemathesis" };
  const pip = await run("python3", ["-m", "pip", "install", "--quiet", SCHEMATHESIS], 600_000);
  if ((await run("schemathesis", ["--version"], 60_000)).code === 0) return { bin: "schemathesis" };
  return { why: `pip install ${SCHEMATHESIS} failed (${pip.code}): ${pip.out.slice(-500)}` };
}

const cleanup = cleanupStack();
let gw: RunningGateway;
let tool: { bin?: string; why?: string };

before(async () => {
  tool = await schemathesis();
  if (!tool.bin) return;
  cleanup.defer(() => closeTestCluster());
  const kube = await testCluster();
  const prom = await startPrometheus({ scrapeTargets: [] });
  cleanup.defer(() => prom.stop());
  gw = await startTestGateway({ KUBECONFIG: kube.kubeconfig, KG_PROMETHEUS_URL: prom.url });
  cleanup.defer(() => gw.close());
});
after(() => cleanup.run());

test("schemathesis finds no 5xx and no schema violations", async (t) => {
  if (!tool.bin) {
    t.skip(`schemathesis unavailable: ${tool.why ?? ""}`);
    return;
  }
  const r = await run(
    tool.bin,
    [
      "--config-file",
      join(REPO_ROOT, "src/gateway/schemathesis.toml"),
      "run",
      `${gw.url}/openapi.json`,
      "--header",
      `Authorization: Bearer ${TOKEN}`,
      "--checks",
      "all",
      // Why: see schemathesis.toml (cross-field rules are documented 400s).
      "--exclude-checks",
      "positive_data_acceptance",
      // An event stream never ends: nothing to validate as a whole response.
      "--exclude-path",
      "/api/v1/stream",
      "--max-examples",
      "40",
      "--generation-database",
      "none",
      "--seed",
      "20261125",
      "--workers",
      "1",
      "--no-color",
      "--request-timeout",
      "10",
    ],
    600_000,
  );
  if (r.code !== 0) {
    // The full report (with curl reproductions) can be long: keep it for reading.
    const file = join(tmpdir(), `kg-gateway-schemathesis-${Date.now()}.txt`);
    await writeFile(file, r.out);
    assert.fail(`schemathesis reported failures (full output: ${file}):\n${r.out.slice(-8_000)}`);
  }
  assert.match(r.out, /passed/);
});
