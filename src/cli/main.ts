// kernel-gossip: the terminal CLI. `node --import tsx src/cli/main.ts <command>`
// or the npm bin `kernel-gossip` (src/cli/bin.js). See src/cli/README.md.
import { parseArgs } from "./args.ts";
import { births } from "./commands/births.ts";
import { demo } from "./commands/demo.ts";
import { doctor } from "./commands/doctor.ts";
import { watch } from "./commands/watch.ts";
import { whispers } from "./commands/whispers.ts";

const HELP = `kernel-gossip — the kernel's side of Kubernetes, in a terminal

usage: kernel-gossip <command> [options]

commands:
  watch                live table of whispers and the newest kernel events (q quits)
                       --interval S (1)  --since-minutes M (60)  --all-events  --once
  whispers             KernelWhispers from the gateway   --since-minutes M (60)  --json
  births               PodBirthCertificates              --since-minutes M (1440)  --json
  doctor               the observer's host check, then whether the local stack answers
  demo throttle        bursty workers under a tight CPU quota (root)
                       --seconds (60) --limit-cores (0.2) --burst-ms (40, CPU time) --every-ms (1000)
                       --workers (2)
  demo oom             a process exceeding a memory cgroup limit (root)  --limit-mib (96) --kills (1)
  demo drops           UDP into an iptables DROP across a veth between two netns of its own (root)
                       --seconds (10) --rate (500 packets/s)
  demo birth           a runc container start in a kubelet-style cgroup (root, needs runc)

endpoints: --gateway URL --token T --observer URL, or KG_GATEWAY_URL, KG_GATEWAY_TOKEN,
KG_OBSERVER_URL, else the file \`./kg run\` writes (KG_STATE, default $TMPDIR/kernel-gossip-local.json).
`;

async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv, ["json", "all-events", "once", "help"]);
  const cmd = a.positionals[0];
  if (!cmd || a.flags.has("help") || cmd === "help") {
    console.log(HELP);
    return cmd ? 0 : 2;
  }
  switch (cmd) {
    case "watch":
      return watch(a);
    case "whispers":
      return whispers(a);
    case "births":
      return births(a);
    case "doctor":
      return doctor(a);
    case "demo":
      return demo(a);
    default:
      console.error(`unknown command ${cmd}\n\n${HELP}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`kernel-gossip: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
