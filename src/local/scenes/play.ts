// Plays the dashboard scenes on a scene stack (./stack.ts): the pods of
// ./pods.ts started one after the other (each start is a birth the observer
// certifies), an iptables DROP in ledger's netns from the start and, 10 s of
// every minute, one on its TCP port (the client's retransmits). waitForData() polls
// the real API server and Prometheus until every signal the dashboards show is
// there, naming what is still missing. Nothing here makes up a number.
import { setTimeout as wait } from "node:timers/promises";
import { METRIC } from "../../shared/signals/catalogue.ts";
import { sleep } from "../runtime/process.ts";
import { containerPid, iptablesIn, podStatus } from "./network.ts";
import {
  ledger,
  loadgen,
  oomKilled,
  pod,
  search,
  throttled,
  web,
  TCP_PORT,
  UDP_PORT,
  type PodSpec,
} from "./pods.ts";
import type { SceneStack } from "./stack.ts";

export interface SceneNamespaces {
  /** The throttled, dropping and started pods. */
  shop: string;
  /** The OOM-killed pod. */
  batch: string;
}

export interface Scenes {
  namespaces: SceneNamespaces;
  /** When the first workload started (unix ms): the dashboards' range starts before it. */
  startedAt: number;
  /** When each scene began (unix ms). */
  marks: Record<"throttle" | "oom" | "drops" | "retransmits" | "birth", number>;
  waitForData: (timeoutMs: number) => Promise<void>;
  stop: () => Promise<void>;
}

interface PromVector {
  data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

export async function playScenes(
  stack: SceneStack,
  o: { namespaces?: SceneNamespaces; log?: (l: string) => void; seconds?: number } = {},
): Promise<Scenes> {
  const log = o.log ?? ((l: string) => console.error(`  scenes: ${l}`));
  const ns = o.namespaces ?? { shop: "shop", batch: "batch" };
  const { kubectl, node } = stack;
  const images = {
    nodejs: stack.nodejs.ref,
    busybox: node.images.busybox.ref,
    nginx: node.images.nginx.ref,
  };
  const seconds = o.seconds ?? 3600;

  for (const n of [ns.shop, ns.batch]) {
    const r = await kubectl(["create", "namespace", n]);
    if (r.code !== 0 && !r.stderr.includes("AlreadyExists"))
      throw new Error(`namespace ${n}: ${r.stderr}`);
  }
  // Pods first, while kubelet runs to stop them; the namespaces then (a bare API
  // server has no namespace controller to finish their deletion: do not wait).
  const onStop: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const f of onStop) await f();
    for (const n of [ns.shop, ns.batch]) {
      await kubectl(["delete", "pods", "--all", "-n", n, "--wait=true", "--timeout=60s"]);
    }
    await kubectl(["delete", "namespace", ns.shop, ns.batch, "--wait=false"]);
  };

  /** Applies a pod and waits for `until` (default: running) as kubelet reports it. */
  async function start(s: PodSpec, until = "{.status.phase}=Running") {
    const r = await kubectl(["apply", "-f", "-"], JSON.stringify(pod(node.name, s)));
    if (r.code !== 0) throw new Error(`pod ${s.namespace}/${s.name}: ${r.stderr}`);
    const w = await kubectl([
      "wait",
      "-n",
      s.namespace,
      `--for=jsonpath=${until}`,
      "--timeout=180s",
      `pod/${s.name}`,
    ]);
    if (w.code !== 0) throw new Error(`pod ${s.namespace}/${s.name}: not ${until}: ${w.stderr}`);
    log(`pod ${s.namespace}/${s.name}: ${until}`);
    return Date.now();
  }

  try {
    const startedAt = Date.now();
    await start(ledger(images.nodejs, ns.shop));
    await start(search(images.busybox, ns.shop));
    const led = await podStatus(kubectl, ns.shop, "ledger");
    const sea = await podStatus(kubectl, ns.shop, "search");
    const ledgerPid = await containerPid(node, led.containerId);
    await iptablesIn(ledgerPid, [
      "-A",
      "INPUT",
      "-p",
      "udp",
      "--dport",
      String(UDP_PORT),
      "-j",
      "DROP",
    ]);
    const drops = await start(loadgen(images.nodejs, ns.shop, led.ip, sea.ip, seconds));
    const throttle = await start(throttled(images.nodejs, ns.shop));
    const oom = await start(oomKilled(images.nodejs, ns.batch));
    // The client's writes to ledger go unanswered 10 s of every minute: the kernel
    // retransmits them. Repeated, because a counter's first increase is invisible to
    // rate() (its series starts with the first retransmit).
    const retransmits = Date.now();
    const tcpDrop = ["INPUT", "-p", "tcp", "--dport", String(TCP_PORT), "-j", "DROP"];
    const window = async () => {
      await iptablesIn(ledgerPid, ["-I", ...tcpDrop]);
      await sleep(10_000);
      await iptablesIn(ledgerPid, ["-D", ...tcpDrop]);
    };
    await window();
    const tcpStop = new AbortController();
    const windows = (async () => {
      for (;;) {
        await wait(50_000, undefined, { signal: tcpStop.signal }).catch(() => undefined);
        if (tcpStop.signal.aborted) return;
        await window().catch((e: unknown) => log(`TCP drop window: ${String(e)}`));
      }
    })();
    onStop.push(async () => {
      tcpStop.abort();
      await windows;
    });
    const birth = await start(web(images.nginx, ns.shop));

    const prom = async (q: string) => {
      const r = await fetch(
        `${stack.endpoints.prometheusUrl}/api/v1/query?${new URLSearchParams({ query: q })}`,
      );
      return ((await r.json()) as PromVector).data?.result ?? [];
    };
    const kinds = async (resource: string, n: string) => {
      const r = await kubectl(["get", resource, "-n", n, "-o", "json"]);
      return r.code === 0
        ? (
            JSON.parse(r.stdout) as {
              items: { spec: Record<string, unknown>; status?: { phase?: string } }[];
            }
          ).items
        : [];
    };
    const checks: [string, () => Promise<boolean>][] = [
      [
        "cpu-throttling whisper for checkout",
        async () =>
          (await kinds("kw", ns.shop)).some(
            (w) =>
              w.spec.signal === "cpu-throttling" &&
              (w.spec.subject as { pod?: string }).pod === "checkout",
          ),
      ],
      [
        "oom-kill whisper for report-builder",
        async () => (await kinds("kw", ns.batch)).some((w) => w.spec.signal === "oom-kill"),
      ],
      [
        "packet-drops whisper in shop",
        async () => (await kinds("kw", ns.shop)).some((w) => w.spec.signal === "packet-drops"),
      ],
      [
        "complete birth certificate of web",
        async () =>
          (await kinds("pbc", ns.shop)).some(
            (c) =>
              (c.spec.subject as { pod?: string }).pod === "web" && c.status?.phase === "Complete",
          ),
      ],
      [
        "NETFILTER_DROP drops of ledger and NO_SOCKET drops of search in Prometheus",
        async () => {
          const r = await prom(
            `sum by (pod, reason) (${METRIC.packetDrops}{namespace="${ns.shop}"})`,
          );
          const has = (p: string, reason: string) =>
            r.some((x) => x.metric.pod === p && x.metric.reason === reason);
          return has("ledger", "NETFILTER_DROP") && has("search", "NO_SOCKET");
        },
      ],
      [
        "TCP retransmits in shop",
        async () =>
          (await prom(`sum(increase(${METRIC.retransmits}{namespace="${ns.shop}"}[3m])) > 0`))
            .length > 0,
      ],
      [
        "OOM kills of report-builder in Prometheus (a second one: rate() needs two)",
        async () =>
          (await prom(`sum(increase(${METRIC.oomKills}{namespace="${ns.batch}"}[3m])) > 0`))
            .length > 0,
      ],
      [
        "4 samples of checkout's throttling in Prometheus",
        async () =>
          (
            await prom(
              `count_over_time(${METRIC.throttledPeriods}{namespace="${ns.shop}",pod="checkout"}[10m]) >= 4`,
            )
          ).length > 0,
      ],
    ];
    return {
      namespaces: ns,
      startedAt,
      marks: { throttle, oom, drops, retransmits, birth },
      async waitForData(timeoutMs) {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const missing: string[] = [];
          for (const [what, ok] of checks) if (!(await ok().catch(() => false))) missing.push(what);
          if (!missing.length) return;
          if (Date.now() > until)
            throw new Error(`scene data still missing: ${missing.join("; ")}`);
          log(`waiting for: ${missing.join("; ")}`);
          await sleep(5_000);
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
