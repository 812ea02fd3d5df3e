// Fault: the observer restarts in the middle of a burst of real OOM kills
// (ADR 0075). Its sequence numbers start again at 1; the operator must notice
// the new instance and replay it from the start, or the events the new run
// published before the operator reconnected are lost. To make that window
// certain, the operator reaches the observer through a proxy the test holds
// paused from the restart until the new run has published its kills — so the
// operator reconnects only afterwards. Kills happen only while an observer is
// attached (nobody can see a kill while none runs). Pass: the whisper's
// occurrences equal the kernel's own OOM-kill count for the cgroup; the
// restart is counted once and no gap is. Root (BPF, cgroups).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KernelWhisper } from "../../shared/model/kernel-whisper.ts";
import { freePort } from "../../local/runtime/cluster.ts";
import { memoryCgroup, type MemoryCgroup } from "../../../tests/env/memcg.ts";
import { startObserver, type Observer } from "../../local/runtime/observer.ts";
import { stallProxy, type StallProxy } from "../../../tests/env/stall-proxy.ts";
import {
  closeTestCluster,
  testCluster,
  type TestCluster,
} from "../../../tests/env/test-cluster.ts";
import type { RunningOperator } from "../operator.ts";
import {
  eventually,
  listWhispers,
  startTestOperator,
  testConfig,
} from "../../../tests/support/operator.ts";

const KILLS_BEFORE = 12;
const KILLS_AFTER = 12;
let kube: TestCluster;
let ns: string;
let cg: MemoryCgroup;
let observer: Observer | undefined;
let proxy: StallProxy;
let op: RunningOperator;
let listen: string;

before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("op-observer-restart");
  cg = await memoryCgroup();
  listen = `127.0.0.1:${await freePort()}`;
  observer = await startObserver({ listen });
  proxy = await stallProxy(new URL(observer.url));
  op = await startTestOperator(
    testConfig(kube.kubeconfig, ns, (c) => {
      c.observers.urls = [proxy.url];
      c.whispers.quietPeriodMs = 10 * 60_000;
    }),
  );
  await eventually("stream connected", async () =>
    /kernel_gossip_operator_observer_streams 1/.test(
      await (await fetch(`${op.url}/metrics`)).text(),
    )
      ? true
      : undefined,
  );
});
after(async () => {
  for (const stop of [() => op.stop(), () => proxy.stop(), () => observer?.stop(), () => cg.stop()])
    await stop()?.catch(() => undefined);
  await closeTestCluster();
});

const metric = async (re: RegExp) =>
  Number(re.exec(await (await fetch(`${op.url}/metrics`)).text())?.[1] ?? 0);

test("an observer restarted mid-burst loses no event: occurrences equal the kernel's count", async () => {
  for (let i = 0; i < KILLS_BEFORE; i++) await cg.oomOnce();

  // Restart: the operator's reconnects are held until the new run has published.
  proxy.pause();
  await observer?.stop();
  observer = await startObserver({ listen });
  for (let i = 0; i < KILLS_AFTER; i++) await cg.oomOnce();
  proxy.resume();

  const kernel = await cg.kernelKills();
  assert.equal(kernel, KILLS_BEFORE + KILLS_AFTER, "every tail /dev/zero was OOM-killed once");
  const kw = await eventually<KernelWhisper>(
    `whisper with ${kernel} occurrences`,
    async () => {
      const w = (await listWhispers(kube, ns)).find(
        (x) => x.spec.signal === "oom-kill" && x.spec.subject.cgroupPath === cg.path,
      );
      return w?.spec.occurrences === kernel ? w : undefined;
    },
    30_000,
  ).catch(async (err: unknown) => {
    const w = (await listWhispers(kube, ns)).find((x) => x.spec.subject.cgroupPath === cg.path);
    throw new Error(
      `${String(err)}; the whisper says ${w?.spec.occurrences ?? "nothing"} of ${kernel} kernel kills`,
    );
  });
  assert.equal(kw.spec.source, "observer");
  assert.equal(await metric(/kernel_gossip_operator_observer_restarts_total\{[^}]*\} (\d+)/), 1);
  assert.equal(await metric(/kernel_gossip_operator_observer_gap_events_total\{[^}]*\} (\d+)/), 0);
  // Stays exact: nothing is counted twice a few flushes later.
  await new Promise((r) => setTimeout(r, 1_000));
  const again = (await listWhispers(kube, ns)).find((x) => x.metadata.name === kw.metadata.name);
  assert.equal(again?.spec.occurrences, kernel);
});
