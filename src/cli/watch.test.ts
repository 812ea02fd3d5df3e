// The terminal CLI in a real terminal: the local stack (`./kg run`'s
// src/local/up.ts) is started, `kernel-gossip watch` runs inside tmux, and
// `kernel-gossip demo throttle` provokes real CFS throttling on this machine.
// The test reads the screen with `tmux capture-pane` until the watch view
// shows the cpu-throttling whisper for the demo's own cgroup.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "node:test";
import { REPO_ROOT } from "../local/runtime/binaries.ts";
import { sleep } from "../local/runtime/process.ts";

const run = promisify(execFile);
const tmux = (args: string[]) => run("tmux", args).then((r) => r.stdout);

function collect(child: ReturnType<typeof spawn>) {
  const out = { text: "" };
  child.stdout?.on("data", (c: Buffer) => (out.text += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (out.text += c.toString()));
  return out;
}

async function until(what: string, timeoutMs: number, probe: () => boolean | Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

test(
  "kernel-gossip watch in tmux shows the whisper a real throttle demo provokes",
  { skip: process.getuid?.() !== 0 ? "needs root (BPF observer, cgroups)" : false },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "kg-cli-test-"));
    // A state file of our own: other runs of `./kg run` on this machine keep theirs.
    const env = { ...process.env, KG_STATE: join(dir, "state.json"), KG_OBSERVER_PROFILE: "debug" };
    const session = `kg-cli-${randomBytes(3).toString("hex")}`;
    const stack = spawn(process.execPath, ["--import", "tsx", "src/local/up.ts"], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stackOut = collect(stack);
    const stackExited = new Promise<number | null>((r) => stack.on("exit", r));
    let demo: ReturnType<typeof spawn> | undefined;
    try {
      await until("the local stack", 240_000, () => {
        if (stack.exitCode !== null) throw new Error(`./kg run exited:\n${stackOut.text}`);
        return stackOut.text.includes("ready. Press Ctrl+C");
      });
      assert.ok(existsSync(env.KG_STATE), "the run command wrote no state file");
      assert.match(
        stackOut.text,
        /kernel-gossip watch/,
        "the run command does not mention the CLI",
      );

      // A real terminal: 200×50, the CLI as a user runs it, finding the stack by KG_STATE.
      await tmux([
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "200",
        "-y",
        "50",
        "-e",
        `KG_STATE=${env.KG_STATE}`,
        `cd ${REPO_ROOT} && node --import tsx src/cli/main.ts watch; sleep 600`,
      ]);
      const screen = () => tmux(["capture-pane", "-p", "-t", session]);
      await until("the watch view", 30_000, async () => (await screen()).includes("WHISPERS"));
      assert.match(await screen(), /KERNEL EVENTS/);

      demo = spawn(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "demo", "throttle", "--seconds", "40"],
        { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
      );
      const demoOut = collect(demo);
      await until("the demo's cgroup", 20_000, () =>
        /cgroup (\/kernel-gossip-demo\/\S+),/.test(demoOut.text),
      );
      const cgroup = /cgroup (\/kernel-gossip-demo\/\S+),/.exec(demoOut.text)?.[1] ?? "";

      // The whisper row: signal, phase and the demo's cgroup on one line of the screen.
      const row = (s: string) =>
        s.split("\n").find((l) => l.includes("cpu-throttling") && l.includes(cgroup));
      let last = "";
      await until("the whisper on screen", 60_000, async () => {
        last = await screen();
        return row(last) !== undefined;
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}\nscreen:\n${last}\ndemo:\n${demoOut.text}`);
      });
      // The screen as the test saw it, in the test report.
      for (const l of last.trimEnd().split("\n")) t.diagnostic(l);
      const line = row(last) ?? "";
      assert.match(line, /Active/, line);
      assert.match(line, /throttledPeriodsRatio=[\d.]+ ratio/, line);
      // The kernel event the whisper came from is on screen too.
      assert.match(last, new RegExp(`throttle_episode\\s+${cgroup.replace(/[/-]/g, "\\$&")}`));
      // The one-shot commands read the same stack.
      const cli = (args: string[]) =>
        run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
          cwd: REPO_ROOT,
          env,
        }).then((r) => r.stdout);
      assert.match(await cli(["whispers"]), new RegExp(`cpu-throttling .*${cgroup}`));
      const whispers = JSON.parse(await cli(["whispers", "--json"])) as { signal: string }[];
      assert.ok(whispers.some((w) => w.signal === "cpu-throttling"));
      assert.match(await cli(["births"]), /^(no pod birth certificates|STARTED)/);
      // Without an observer URL, watch takes kernel events from the gateway's stream.
      const once = await run(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", "watch", "--once"],
        { cwd: REPO_ROOT, env: { ...env, KG_OBSERVER_URL: "" } },
      );
      assert.match(once.stdout, /KERNEL EVENTS .*from gateway http:\/\/\S+\/api\/v1\/stream/);
      assert.match(once.stdout, new RegExp(`cpu-throttling .*${cgroup}`));
      // q quits the view and restores the terminal.
      await tmux(["send-keys", "-t", session, "q"]);
      await until("watch to quit", 10_000, async () => !(await screen()).includes("WHISPERS"));
    } finally {
      demo?.kill("SIGINT");
      if (demo && demo.exitCode === null) await new Promise((r) => demo?.once("exit", r));
      await tmux(["kill-session", "-t", session]).catch(() => undefined);
      stack.kill("SIGTERM");
      await Promise.race([stackExited, sleep(30_000)]);
      stack.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  },
);
