// `kernel-gossip demo oom|drops|birth` run their real workloads on this machine,
// report what the kernel counted, and leave nothing behind (cgroups, network
// namespaces, containers). The throttle demo is exercised end to end in
// watch.test.ts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT } from "../local/runtime/binaries.ts";
import { cgroupHierarchies } from "./demo/birth.ts";

const run = promisify(execFile);
const root = process.getuid?.() !== 0 ? "needs root (cgroups, netns, runc)" : false;

const cli = (args: string[]) =>
  run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: REPO_ROOT,
    timeout: 120_000,
  });

test(
  "demo oom: the kernel OOM-kills the allocating process; its cgroup is removed",
  { skip: root },
  async () => {
    const { stdout } = await cli(["demo", "oom", "--limit-mib", "80"]);
    assert.match(stdout, /ended by SIGKILL/);
    const kills = Number(/the kernel counted (\d+) OOM kill/.exec(stdout)?.[1]);
    assert.ok(kills >= 1, stdout);
    const path = /cgroup (\/kernel-gossip-demo\/oom-\w+)/.exec(stdout)?.[1] ?? "";
    for (const h of ["memory", ""])
      assert.ok(!existsSync(join("/sys/fs/cgroup", h, path)), `${path} left in ${h}`);
  },
);

test(
  "demo drops: the DROP rule counts the packets sent; both netns are removed",
  { skip: root },
  async () => {
    const { stdout } = await cli(["demo", "drops", "--seconds", "2", "--rate", "200"]);
    const dropped = Number(/the kernel dropped (\d+) packets/.exec(stdout)?.[1]);
    // 200 packets/s for 2 s in tenths of a second: at most ~400 (fewer when the sender is
    // starved of CPU), and a DROP counts only what was sent.
    assert.ok(dropped >= 100 && dropped <= 420, stdout);
    const ns = /netns (kg-demo-\w+-tx)/.exec(stdout)?.[1] ?? "";
    const { stdout: list } = await run("ip", ["netns", "list"]);
    assert.ok(ns && !list.includes(ns.replace(/-tx$/, "")), `netns left behind:\n${list}`);
  },
);

test(
  "demo birth: a runc container starts in a kubelet-style cgroup and is deleted",
  {
    skip:
      root ||
      (existsSync("/usr/sbin/runc") || existsSync("/usr/bin/runc") ? false : "runc not installed"),
  },
  async () => {
    const { stdout } = await cli(["demo", "birth"]);
    assert.match(stdout, /born: pid 1 in kernel-gossip-demo/);
    assert.match(stdout, /container exited 0/);
    const pod = /\/kubepods\/besteffort\/(pod[\w-]+)\//.exec(stdout)?.[1] ?? "";
    assert.ok(pod, stdout);
    // Every hierarchy, the v2 tree at unified/ included: runc makes the pod's
    // directory in all of them.
    for (const h of cgroupHierarchies()) {
      const dir = join("/sys/fs/cgroup", h, "kubepods/besteffort", pod);
      assert.ok(!existsSync(dir), `${dir} left behind`);
    }
  },
);
