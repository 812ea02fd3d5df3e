// demo drops: two network namespaces of our own joined by a veth pair, an
// iptables DROP rule in the receiver, and UDP sent to it across the veth — the
// kernel drops every packet with reason NETFILTER_DROP. No packet leaves the
// two namespaces. A sleeping process in a demo cgroup owns the receiving
// namespace so the observer can name the workload. Figures: the DROP rule's
// own packet counter.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { demoCgroup } from "./cgroup.ts";
import { exited, sleep, spawnIn } from "./spawn.ts";

const run = promisify(execFile);
export const PORT = 9999;
// Link-local addresses inside our own namespaces only.
const SENDER_IP = "169.254.77.1";
const RECEIVER_IP = "169.254.77.2";

/** UDP to KG_TARGET:9999 at KG_RATE packets/s for KG_SECONDS; the dashboard scenes run it in a pod. */
export const SENDER = `
const s = require("node:dgram").createSocket("udp4");
const rate = Number(process.env.KG_RATE), until = Date.now() + Number(process.env.KG_SECONDS) * 1000;
const msg = Buffer.from("kernel-gossip demo drops");
const tick = () => {
  if (Date.now() > until) return s.close();
  for (let i = 0; i < rate / 10; i++) s.send(msg, ${PORT}, process.env.KG_TARGET);
  setTimeout(tick, 100);
};
tick();
`;

async function dropCounter(ns: string): Promise<number> {
  const { stdout } = await run("ip", [
    "netns",
    "exec",
    ns,
    "iptables",
    "-L",
    "INPUT",
    "-v",
    "-x",
    "-n",
  ]);
  const rule = stdout.split("\n").find((l) => l.includes("DROP") && l.includes(`dpt:${PORT}`));
  return Number(rule?.trim().split(/\s+/)[0] ?? 0);
}

export async function demoDrops(o: { seconds: number; rate: number }): Promise<number> {
  const id = randomBytes(3).toString("hex");
  const [a, b] = [`kg-demo-${id}-tx`, `kg-demo-${id}-rx`];
  const cg = await demoCgroup(`/kernel-gossip-demo/drops-${id}`, ["cpu"]);
  const made: string[] = [];
  try {
    for (const ns of [a, b]) {
      await run("ip", ["netns", "add", ns]);
      made.push(ns);
    }
    await run("ip", [
      "-n",
      a,
      "link",
      "add",
      "veth0",
      "type",
      "veth",
      "peer",
      "name",
      "veth0",
      "netns",
      b,
    ]);
    for (const [ns, ip] of [
      [a, SENDER_IP],
      [b, RECEIVER_IP],
    ] as const) {
      await run("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", "veth0"]);
      await run("ip", ["-n", ns, "link", "set", "veth0", "up"]);
      await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
    }
    await run("ip", [
      "netns",
      "exec",
      b,
      "iptables",
      "-A",
      "INPUT",
      "-p",
      "udp",
      "--dport",
      String(PORT),
      "-j",
      "DROP",
    ]);
    const owner = spawnIn(cg.procs, ["ip", "netns", "exec", b, "sleep", String(o.seconds + 30)]);
    console.log(
      `demo drops: netns ${a} → ${b} over a veth, iptables DROP udp/${PORT} in ${b}; ` +
        `${o.rate} packets/s for ${o.seconds} s (owner cgroup ${cg.path})`,
    );
    await sleep(300);
    const sender = spawnIn([], ["ip", "netns", "exec", a, process.execPath, "-e", SENDER], {
      env: { KG_RATE: String(o.rate), KG_SECONDS: String(o.seconds), KG_TARGET: RECEIVER_IP },
    });
    let prev = 0;
    const t0 = Date.now();
    while (sender.exitCode === null && sender.signalCode === null) {
      await Promise.race([sleep(1000), exited(sender)]);
      const n = await dropCounter(b);
      console.log(
        `[${Math.round((Date.now() - t0) / 1000)}s] the DROP rule counted ${n - prev} packets in the last 1 s (${n} total)`,
      );
      prev = n;
    }
    console.log(`demo drops: the kernel dropped ${prev} packets at the DROP rule in ${b}`);
    owner.kill("SIGKILL");
    await exited(owner);
    return prev > 0 ? 0 : 1;
  } finally {
    for (const ns of made.reverse()) await run("ip", ["netns", "del", ns]).catch(() => undefined);
    await cg.remove();
    console.log(`demo drops: removed ${made.join(", ")} and ${cg.path}`);
  }
}
