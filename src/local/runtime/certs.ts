// A throwaway PKI for one test API server, made with the openssl CLI (Node's
// crypto can make keys but not X.509 certificates). EC P-256 keeps it fast.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Pki {
  caCert: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0] ?? ""} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

const newKey = (path: string) =>
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path]);

/**
 * A new EC key and a certificate for it signed by `ca`, as `<dir>/<name>.key`
 * and `.crt`. The CA's serial file goes in `dir` too, so a CA whose directory
 * belongs to another owner (the test control plane) is never written to.
 */
export async function signed(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
  ca: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await newKey(key);
  await openssl(["req", "-new", "-key", key, "-subj", subject, "-out", csr]);
  await writeFile(ext, extensions);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-CAserial",
    join(dir, "ca.srl"),
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}

export async function makePki(dir: string): Promise<Pki> {
  const ca = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  await newKey(ca.key);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    ca.key,
    "-subj",
    "/CN=kernel-gossip-test-ca",
    "-days",
    "2",
    "-out",
    ca.cert,
  ]);
  const serving = await signed(
    dir,
    "serving",
    "/CN=kube-apiserver",
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
    ca,
  );
  // O=system:masters: the admin bypasses RBAC, as a cluster admin does.
  const admin = await signed(
    dir,
    "admin",
    "/O=system:masters/CN=kernel-gossip-admin",
    "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n",
    ca,
  );
  const serviceAccountKey = join(dir, "sa.key");
  const serviceAccountPub = join(dir, "sa.pub");
  await newKey(serviceAccountKey);
  await openssl(["pkey", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPub]);
  return {
    caCert: ca.cert,
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey,
    serviceAccountPub,
  };
}
