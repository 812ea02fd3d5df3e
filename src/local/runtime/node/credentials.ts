// The test node's identity: a client certificate for user system:node:<name>
// (group system:nodes) signed by the test control plane's CA, and a
// ClusterRoleBinding of the built-in system:node role to that user. The test API
// server runs RBAC only (no Node authorizer), so the binding is what a
// kubeadm-era cluster did; it is deleted with the node (docs/adr/0030).
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { signed } from "../certs.ts";
import type { KubectlResult } from "../cluster.ts";

export interface ControlPlane {
  server: string;
  caCert: string;
  caKey: string;
}

/** Reads server and CA from a kubeconfig written by src/local/runtime/cluster.ts (CA key beside the CA). */
export function controlPlaneOf(kubeconfig: string): ControlPlane {
  const text = readFileSync(kubeconfig, "utf8");
  const server = /^\s*server:\s*(\S+)/m.exec(text)?.[1];
  const caCert = /^\s*certificate-authority:\s*(\S+)/m.exec(text)?.[1];
  if (!server || !caCert) throw new Error(`${kubeconfig}: no server or certificate-authority`);
  const caKey = join(dirname(caCert), "ca.key");
  if (!existsSync(caKey))
    throw new Error(`CA key ${caKey} not found (not a src/local/runtime cluster?)`);
  return { server, caCert, caKey };
}

/** Writes the node's key, certificate and kubeconfig into `dir`; returns the kubeconfig path. */
export async function nodeKubeconfig(
  dir: string,
  nodeName: string,
  cp: ControlPlane,
): Promise<string> {
  const { cert, key } = await signed(
    dir,
    "node",
    `/O=system:nodes/CN=system:node:${nodeName}`,
    "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n",
    { cert: cp.caCert, key: cp.caKey },
  );
  const kubeconfig = join(dir, "node.kubeconfig");
  await writeFile(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: test",
      `  cluster: {server: "${cp.server}", certificate-authority: "${cp.caCert}"}`,
      "users:",
      `- name: "system:node:${nodeName}"`,
      `  user: {client-certificate: "${cert}", client-key: "${key}"}`,
      "contexts:",
      `- name: node`,
      `  context: {cluster: test, user: "system:node:${nodeName}"}`,
      "current-context: node",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return kubeconfig;
}

type Kubectl = (args: string[], input?: string) => Promise<KubectlResult>;

export async function bindNodeRole(kubectl: Kubectl, nodeName: string): Promise<string> {
  const name = `kernel-gossip-${nodeName}`;
  const res = await kubectl([
    "create",
    "clusterrolebinding",
    name,
    "--clusterrole=system:node",
    `--user=system:node:${nodeName}`,
  ]);
  if (res.code !== 0) throw new Error(`binding system:node for ${nodeName}: ${res.stderr}`);
  return name;
}
