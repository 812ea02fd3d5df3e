// A real Kubernetes control plane for tests and the local run: etcd 3.6 and
// kube-apiserver on loopback with a throwaway PKI, RBAC on, our CRDs installed.
// Children get PR_SET_PDEATHSIG (via setpriv) so a crashed parent leaves no
// servers behind; stop() terminates them and removes the temp dir.
import { execFile, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { get as httpGet } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubeBinaries, REPO_ROOT, type KubeBinaries } from "./binaries.ts";
import { makePki, type Pki } from "./certs.ts";
import { alive, launch, sleep, stopChild, waitFor } from "./process.ts";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cluster {
  dir: string;
  kubeconfig: string;
  server: string;
  binaries: KubeBinaries;
  pki: Pki;
  /** Runs the built kubectl against this cluster; never throws on a non-zero exit. */
  kubectl: (args: string[], input?: string) => Promise<KubectlResult>;
  /**
   * Kills kube-apiserver (SIGKILL), waits `down` (milliseconds, or until the
   * promise settles), starts it again on the same port.
   */
  restartApiServer: (down?: number | Promise<unknown>) => Promise<void>;
  /** The audit log (JSON lines), when started with `audit`. */
  auditLog?: string;
  stop: () => Promise<void>;
}

export interface StartOptions {
  log?: (line: string) => void;
  installCrds?: boolean;
  /** Keep the temp dir on stop (for debugging). */
  keepDir?: boolean;
  /**
   * Write an audit log (--audit-policy-file, --audit-log-path): one JSON line
   * per request at ResponseComplete. The default policy records every write
   * (create, update, patch, delete, deletecollection) at Metadata level and
   * nothing else; pass an audit.k8s.io/v1 Policy's `rules` to change that.
   */
  audit?: { rules?: object[] };
}

const WRITES_AT_METADATA = [
  { level: "Metadata", verbs: ["create", "update", "patch", "delete", "deletecollection"] },
  { level: "None" },
];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === "object") resolve(addr.port);
        else reject(new Error("no port"));
      });
    });
  });
}

const etcdHealthy = (port: number) =>
  new Promise<boolean>((resolve) => {
    const req = httpGet({ host: "127.0.0.1", port, path: "/health", timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
    });
    req.on("error", () => resolve(false));
  });

const apiReady = (port: number, pki: Pki) =>
  new Promise<boolean>((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/readyz",
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", () => resolve(false));
    req.end();
  });

function kubeconfigYaml(server: string, pki: Pki): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: kernel-gossip-local",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority: ${pki.caCert}`,
    "users:",
    "- name: admin",
    "  user:",
    `    client-certificate: ${pki.adminCert}`,
    `    client-key: ${pki.adminKey}`,
    "contexts:",
    "- name: kernel-gossip-local",
    "  context: {cluster: kernel-gossip-local, user: admin, namespace: default}",
    "current-context: kernel-gossip-local",
    "",
  ].join("\n");
}

export function runKubectl(
  kubectlBin: string,
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      kubectlBin,
      ["--kubeconfig", kubeconfig, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function startCluster(opts: StartOptions = {}): Promise<Cluster> {
  const log = opts.log ?? (() => undefined);
  const binaries = kubeBinaries();
  const dir = await mkdtemp(join(tmpdir(), "kernel-gossip-kube-"));
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const c of children) if (alive(c)) c.kill("SIGKILL");
  };
  process.once("exit", killAll);

  const stop = async () => {
    process.removeListener("exit", killAll);
    for (const c of children.reverse()) await stopChild(c);
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    log(`control plane dir ${dir}`);
    const pki = await makePki(dir);

    const [etcdPort, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdLog = join(dir, "etcd.log");
    const etcd = launch(
      binaries.etcd,
      [
        `--data-dir=${join(dir, "etcd-data")}`,
        `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        "--unsafe-no-fsync=true",
        "--log-level=warn",
      ],
      etcdLog,
    );
    children.push(etcd);
    log(`etcd starting on 127.0.0.1:${etcdPort}`);
    await waitFor("etcd", etcd, etcdLog, 30_000, () => etcdHealthy(etcdPort));

    const apiLog = join(dir, "kube-apiserver.log");
    const apiArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--cert-dir=${dir}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--secure-port=${apiPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      // Only a configuration value: nothing routes to this range.
      "--service-cluster-ip-range=10.96.0.0/24",
      "--allow-privileged=true",
      // Test nodes (src/local/runtime/node.ts) have no DNS name: dial the kubelet by its InternalIP.
      "--kubelet-preferred-address-types=InternalIP,Hostname",
      "--authorization-mode=RBAC",
      // No controller-manager runs, so nothing would create default service accounts.
      "--disable-admission-plugins=ServiceAccount",
      "--service-account-issuer=https://kubernetes.default.svc",
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      "--v=1",
    ];
    let auditLog: string | undefined;
    if (opts.audit) {
      const policy = join(dir, "audit-policy.yaml");
      auditLog = join(dir, "audit.log");
      const rules = opts.audit.rules ?? WRITES_AT_METADATA;
      await writeFile(
        policy,
        JSON.stringify({
          apiVersion: "audit.k8s.io/v1",
          kind: "Policy",
          omitStages: ["RequestReceived"],
          rules,
        }),
      );
      // The log backend's default mode is blocking: a request's event is written before it returns.
      apiArgs.push(
        `--audit-policy-file=${policy}`,
        `--audit-log-path=${auditLog}`,
        "--audit-log-format=json",
      );
    }
    let api = launch(binaries.kubeApiserver, apiArgs, apiLog);
    children.push(api);
    const server = `https://127.0.0.1:${apiPort}`;
    log(`kube-apiserver starting on ${server}`);
    await waitFor("kube-apiserver", api, apiLog, 120_000, () => apiReady(apiPort, pki));

    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, kubeconfigYaml(server, pki), { mode: 0o600 });
    const kubectl = (args: string[], input?: string) =>
      runKubectl(binaries.kubectl, kubeconfig, args, input);

    if (opts.installCrds !== false) {
      await installCrds(kubectl);
      log("CRDs installed: kernelwhispers.kernel.gossip.io, podbirthcertificates.kernel.gossip.io");
    }
    /** Kills kube-apiserver and starts it again on the same port (etcd keeps the state). */
    const restartApiServer = async (down: number | Promise<unknown> = 0) => {
      await stopChild(api, 0);
      children.splice(children.indexOf(api), 1);
      log("kube-apiserver stopped");
      await (typeof down === "number" ? sleep(down) : down.catch(() => undefined));
      api = launch(binaries.kubeApiserver, apiArgs, apiLog);
      children.push(api);
      await waitFor("kube-apiserver", api, apiLog, 120_000, () => apiReady(apiPort, pki));
      log("kube-apiserver restarted");
    };
    return {
      dir,
      kubeconfig,
      server,
      binaries,
      pki,
      kubectl,
      restartApiServer,
      stop,
      ...(auditLog ? { auditLog } : {}),
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function installCrds(
  kubectl: (args: string[]) => Promise<KubectlResult>,
): Promise<void> {
  const crdDir = join(REPO_ROOT, "deploy/crds");
  const applied = await kubectl(["apply", "--server-side", "-k", crdDir]);
  if (applied.code !== 0) throw new Error(`installing CRDs failed: ${applied.stderr}`);
  const ready = await kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    "crd/kernelwhispers.kernel.gossip.io",
    "crd/podbirthcertificates.kernel.gossip.io",
  ]);
  if (ready.code !== 0) throw new Error(`CRDs not established: ${ready.stderr}`);
  // Established can precede the storage being served ("storage is (re)initializing",
  // HTTP 429): wait until both kinds can be listed.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const list = await kubectl(["get", "kernelwhispers,podbirthcertificates", "-A"]);
    if (list.code === 0) return;
    if (Date.now() > deadline) throw new Error(`CRD storage not ready: ${list.stderr}`);
    await sleep(250);
  }
}
