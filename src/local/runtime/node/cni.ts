// Pod networking for the test node: one Linux bridge of our own with a private
// /24, and a CNI conflist (Debian's bridge + host-local + loopback plugins) in
// our own conf dir. The bridge carries the node's address (kubelet refuses a
// loopback node IP), so the API server reaches the kubelet without leaving the
// host, and pods reach nothing but the bridge: no gateway route, no masquerade,
// no iptables, and no ip_forward (the bridge plugin turns it on only with
// isGateway, which we leave off).
import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface NodeNetwork {
  bridge: string;
  /** The bridge's own address, used as the node IP. */
  nodeIp: string;
  subnet: string;
  networkName: string;
  confDir: string;
  ipamDir: string;
  remove: () => Promise<void>;
}

async function ip(args: string[]): Promise<string> {
  try {
    return (await run("ip", args)).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(" ")}: ${e.stderr ?? e.message}`, { cause: err });
  }
}

/** A 10.2xx.y.0/24 that no route on the host covers yet. */
async function freeSubnet(): Promise<string> {
  const routes = await ip(["-4", "route", "show", "table", "all"]);
  for (let i = 0; i < 50; i++) {
    const prefix = `10.${String(200 + randomInt(50))}.${String(randomInt(256))}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
  throw new Error("no free 10.2xx.y.0/24 for the test node's bridge");
}

/** Interface names are at most 15 bytes. */
export const bridgeName = (id: string) => `kgbr${id}`.slice(0, 15);

export async function createNetwork(dir: string, id: string): Promise<NodeNetwork> {
  const prefix = await freeSubnet();
  const bridge = bridgeName(id);
  const nodeIp = `${prefix}.1`;
  const subnet = `${prefix}.0/24`;
  const networkName = `kg-node-${id}`;
  const confDir = join(dir, "cni", "net.d");
  const ipamDir = join(dir, "cni", "ipam");
  await mkdir(confDir, { recursive: true });
  await mkdir(ipamDir, { recursive: true });

  await ip(["link", "add", bridge, "type", "bridge"]);
  const remove = async () => {
    await ip(["link", "del", bridge]).catch(() => undefined);
  };
  try {
    await ip(["addr", "add", `${nodeIp}/24`, "dev", bridge]);
    await ip(["link", "set", bridge, "up"]);
    const conflist = {
      cniVersion: "1.0.0",
      name: networkName,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: false,
          ipMasq: false,
          hairpinMode: false,
          ipam: {
            type: "host-local",
            dataDir: ipamDir,
            ranges: [[{ subnet, rangeStart: `${prefix}.10`, rangeEnd: `${prefix}.250` }]],
          },
        },
      ],
    };
    await writeFile(join(confDir, "10-kg-node.conflist"), JSON.stringify(conflist, null, 2));
  } catch (err) {
    await remove();
    throw err;
  }
  return { bridge, nodeIp, subnet, networkName, confDir, ipamDir, remove };
}
