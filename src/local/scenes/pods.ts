// The scenes' pods, bound to the test node (no scheduler), images from the
// node's own store. The workloads are the CLI demos' own code (src/cli/demo),
// run by Node.js inside the pod, so the kernel accounts them to the pod's
// cgroups and network namespace:
//   checkout        2 × demo throttle's worker under a 200m CPU limit (bursts of
//                   40 ms CPU each, once a second)
//   report-builder  demo oom's allocator under a 96Mi memory limit, started again
//                   20 s after each kill by the container's main process (like a job
//                   runner whose worker keeps dying): kill after kill in one named
//                   container, the way a counter shows them (a container kubelet
//                   restarts would get a new id, and a new series, every time)
//   ledger          TCP server on 8080; iptables DROP of udp/9999 in its netns
//   search          nothing listens on udp/9999: the kernel drops with NO_SOCKET
//   loadgen         demo drops' sender to ledger and search, and a TCP client of
//                   ledger that writes every 200 ms
//   web             nginx, started last: the birth certificate to look at
import { HOG } from "../../cli/demo/oom.ts";
import { PORT, SENDER } from "../../cli/demo/drops.ts";
import { WORKER, throttleDefaults, type ThrottleOptions } from "../../cli/demo/throttle.ts";

export const TCP_PORT = 8080;
export const UDP_PORT = PORT;

export interface PodSpec {
  name: string;
  namespace: string;
  image: string;
  command: string[];
  env?: Record<string, string>;
  cpu?: string;
  memory?: string;
  port?: number;
  /** "Never" for a pod whose one run is the scene (the OOM kill). */
  restartPolicy?: "Always" | "Never";
}

/** Requests = limits (Guaranteed QoS) when both are given, as the demos' cgroups have a hard limit. */
export function pod(nodeName: string, s: PodSpec) {
  const limits = { ...(s.cpu ? { cpu: s.cpu } : {}), ...(s.memory ? { memory: s.memory } : {}) };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels: { app: s.name, "kernel-gossip/scene": "dashboards" },
    },
    spec: {
      nodeName,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      restartPolicy: s.restartPolicy ?? "Always",
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: "app",
          image: s.image,
          imagePullPolicy: "Never",
          command: s.command,
          env: Object.entries(s.env ?? {}).map(([name, value]) => ({ name, value })),
          ...(s.port ? { ports: [{ containerPort: s.port }] } : {}),
          ...(Object.keys(limits).length ? { resources: { limits, requests: limits } } : {}),
        },
      ],
    },
  };
}

/** Runs the programs in KG_PROGRAMS (JSON: [{code, env}]) as children; PID 1 stays to reap them. */
const LAUNCHER = `
const { spawn } = require("node:child_process");
for (const p of JSON.parse(process.env.KG_PROGRAMS)) {
  spawn(process.execPath, ["-e", p.code], { stdio: "inherit", env: { ...process.env, ...p.env } })
    .on("exit", (code, sig) => console.error("program exited", code, sig));
}
setInterval(() => {}, 1 << 30);
`;

const programs = (list: { code: string; env?: Record<string, string> }[]) => ({
  command: ["/usr/bin/node", "-e", LAUNCHER],
  env: { KG_PROGRAMS: JSON.stringify(list) },
});

export function throttled(
  nodejs: string,
  namespace: string,
  o: Partial<ThrottleOptions> = {},
): PodSpec {
  const d = { ...throttleDefaults(), ...o };
  const worker = {
    code: WORKER,
    env: { KG_EVERY_MS: String(d.everyMs), KG_BURST_MS: String(d.burstMs) },
  };
  return {
    name: "checkout",
    namespace,
    image: nodejs,
    cpu: `${Math.round(d.limitCores * 1000)}m`,
    memory: "256Mi",
    ...programs(Array.from({ length: d.workers }, () => worker)),
  };
}

/** Runs KG_HOG as a child, and again KG_EVERY_MS after it exits (the OOM killer picks the child). */
const RESPAWN = `
const { spawn } = require("node:child_process");
const run = () =>
  spawn(process.execPath, ["-e", process.env.KG_HOG], { stdio: "inherit" }).on("exit", (code, sig) => {
    console.error("worker ended", code, sig);
    setTimeout(run, Number(process.env.KG_EVERY_MS));
  });
run();
`;

export const oomKilled = (nodejs: string, namespace: string): PodSpec => ({
  name: "report-builder",
  namespace,
  image: nodejs,
  memory: "96Mi",
  cpu: "500m",
  command: ["/usr/bin/node", "-e", RESPAWN],
  env: { KG_HOG: HOG, KG_EVERY_MS: "20000" },
});

const TCP_SERVER = `require("node:net").createServer((s) => s.on("data", () => {}).on("error", () => {})).listen(${TCP_PORT});`;

export const ledger = (nodejs: string, namespace: string): PodSpec => ({
  name: "ledger",
  namespace,
  image: nodejs,
  port: TCP_PORT,
  command: ["/usr/bin/node", "-e", TCP_SERVER],
});

export const search = (busybox: string, namespace: string): PodSpec => ({
  name: "search",
  namespace,
  image: busybox,
  command: ["/bin/sh", "-c", "exec sleep 1000000"],
});

/** Keeps one TCP connection to KG_TARGET:8080 and writes to it every 200 ms; reconnects when it breaks. */
const TCP_CLIENT = `
const net = require("node:net");
const connect = () => {
  const c = net.connect(${TCP_PORT}, process.env.KG_TARGET);
  const t = setInterval(() => c.write("kernel-gossip scene\\n"), 200);
  c.on("error", () => {});
  c.on("close", () => { clearInterval(t); setTimeout(connect, 1000); });
};
connect();
`;

export function loadgen(
  nodejs: string,
  namespace: string,
  ledgerIp: string,
  searchIp: string,
  seconds: number,
): PodSpec {
  const udp = (target: string, rate: number) => ({
    code: SENDER,
    env: { KG_TARGET: target, KG_RATE: String(rate), KG_SECONDS: String(seconds) },
  });
  return {
    name: "loadgen",
    namespace,
    image: nodejs,
    ...programs([
      udp(ledgerIp, 500),
      udp(searchIp, 200),
      { code: TCP_CLIENT, env: { KG_TARGET: ledgerIp } },
    ]),
  };
}

export const web = (nginx: string, namespace: string): PodSpec => ({
  name: "web",
  namespace,
  image: nginx,
  cpu: "200m",
  memory: "64Mi",
  port: 8080,
  command: ["/usr/sbin/nginx", "-c", "/etc/nginx/nginx.conf"],
});
