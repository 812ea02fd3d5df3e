// The gateway as it is run: `node --import tsx src/gateway/main.ts` in its own
// process (started as a deployment would, through tests/support/local-gateway.ts), configured by the
// environment. It refuses to start without tokens, prints its URL, answers the
// README's curl examples as written, and exits cleanly on SIGTERM.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { REPO_ROOT } from "../local/runtime/binaries.ts";
import { freePort } from "../local/runtime/cluster.ts";
import { httpOk, launch, tail, waitFor } from "../local/runtime/process.ts";
import { closeTestCluster, testCluster } from "../../tests/env/test-cluster.ts";
import { startLocalGateway } from "../../tests/support/local-gateway.ts";
import { TOKEN } from "../../tests/support/gateway.ts";

const MAIN = join(REPO_ROOT, "src/gateway/main.ts");
let dir: string;
let kubeconfig: string;

before(async () => {
  kubeconfig = (await testCluster()).kubeconfig;
  dir = await mkdtemp(join(tmpdir(), "kg-gw-main-"));
});
after(async () => {
  await closeTestCluster();
  await rm(dir, { recursive: true, force: true });
});

const sh = (script: string, env: Record<string, string>) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      "bash",
      ["-euo", "pipefail", "-c", script],
      { env: { ...process.env, ...env }, timeout: 30_000, cwd: dir }, // blocks may write files
      (e, out, err) =>
        resolve({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, out, err }),
    );
  });

test("without a token configured the gateway refuses to start and says why", async () => {
  const r = await new Promise<{ code: number; err: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          KUBECONFIG: kubeconfig,
          KG_GATEWAY_TOKENS: "",
          KG_GATEWAY_TOKENS_FILE: "",
        },
      },
      (e, _out, err) => resolve({ code: e && typeof e.code === "number" ? e.code : 0, err }),
    );
  });
  assert.equal(r.code, 1);
  assert.match(r.err, /no bearer tokens: set KG_GATEWAY_TOKENS/);
});

test("main.ts (as ./kg run starts it) serves the README's curl examples as written", async () => {
  const gw = await startLocalGateway({ kubeconfig });
  try {
    assert.match(
      await readFile(gw.logPath, "utf8"),
      new RegExp(`kernel-gossip gateway listening on ${gw.url}`),
    );
    const readme = await readFile(join(REPO_ROOT, "src/gateway/README.md"), "utf8");
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
      .map((m) => m[1] ?? "")
      .filter((b) => b.includes("curl"));
    assert.ok(blocks.length >= 6, `found ${blocks.length} curl blocks`);
    for (const block of blocks) {
      const r = await sh(block, { GW: gw.url, TOKEN: gw.token });
      assert.equal(r.code, 0, `README block failed (${r.code}):\n${block}\n${r.err}\n${r.out}`);
      // A block may end with the expected answer as a "# …" comment line.
      const expected = /^# (\{.*\})$/m.exec(block)?.[1];
      if (expected) assert.equal(r.out.trim(), expected);
    }
  } finally {
    await gw.stop();
  }
});

test("main.ts exits 0 on SIGTERM", async () => {
  const port = await freePort();
  const log = join(dir, "gateway.log");
  const child = launch(process.execPath, ["--import", "tsx", MAIN], log, {
    KG_LISTEN: `127.0.0.1:${port}`,
    KG_GATEWAY_TOKENS: TOKEN,
    KUBECONFIG: kubeconfig,
  });
  await waitFor("gateway", child, log, 60_000, () => httpOk(`http://127.0.0.1:${port}/healthz`));
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
  assert.equal(
    child.exitCode,
    0,
    `exit ${String(child.exitCode ?? child.signalCode)}:\n${tail(log)}`,
  );
});
