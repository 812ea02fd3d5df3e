// `./kg run`: starts everything that exists, locally, on embedded defaults, and
// prints where each part is. The embedded Kubernetes is a local etcd +
// kube-apiserver with the CRDs installed. Ctrl+C (or SIGTERM) stops it all.
import {
  alerting,
  gateway,
  kubernetes,
  newEnv,
  observer,
  operator,
  type Running,
} from "./components.ts";
import { removeState, writeState } from "./state.ts";

async function main(): Promise<void> {
  const env = await newEnv();
  const running: Running[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.error("\nkernel-gossip: stopping");
    for (const r of running.reverse()) await r.stop().catch((e: unknown) => console.error(e));
    await removeState(process.pid).catch(() => undefined);
    process.exit(code);
  };
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));

  const steps: [string, () => Promise<Running | Running[] | undefined>][] = [
    ["kubernetes", () => kubernetes(env)],
    ["observer", () => observer(env)],
    ["operator", () => operator(env)],
    ["prometheus + alertmanager", () => alerting(env)],
    ["gateway", () => gateway(env)],
  ];
  for (const [name, start] of steps) {
    console.error(`kernel-gossip: starting ${name}`);
    try {
      const r = await start();
      if (r) running.push(...(Array.isArray(r) ? r : [r]));
    } catch (err) {
      console.error(
        `kernel-gossip: ${name} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      await stopAll(1);
      return;
    }
  }

  console.log("\nkernel-gossip is running:");
  for (const r of running) {
    console.log(`\n  ${r.name}`);
    for (const l of r.lines) console.log(`    ${l}`);
  }
  console.log(`\n  logs and generated config: ${env.workDir}`);
  const state = await writeState({
    pid: process.pid,
    startedAt: new Date().toISOString(),
    kubeconfig: env.kubeconfig,
    observerUrl: env.observerUrl,
    operatorUrl: env.operatorUrl,
    prometheusUrl: env.prometheusUrl,
    gatewayUrl: env.gatewayUrl,
    gatewayToken: env.gatewayToken,
    webhookToken: env.webhookToken,
  });
  // The terminal view finds this run through the state file (src/cli/README.md).
  console.log(`\n  terminal view (another shell; endpoints from ${state}):`);
  console.log("    npx kernel-gossip watch            live whispers and kernel events");
  console.log("    npx kernel-gossip demo throttle    provoke CPU throttling on this machine");
  console.log("    npx kernel-gossip whispers | births | doctor");
  console.log("\nready. Press Ctrl+C to stop.");
  setInterval(() => undefined, 1 << 30);
}

await main();
