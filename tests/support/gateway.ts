// Test support for the gateway suites (not itself a test file): a gateway
// started in-process on a free loopback port with a read-only Kubernetes
// identity, and an HTTP client that validates every response against the
// gateway's own /openapi.json.
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parseAllDocuments, parse } from "yaml";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";
import type { TestCluster } from "../env/test-cluster.ts";
import { parseConfig } from "../../src/gateway/config.ts";
import { startGateway, type RunningGateway } from "../../src/gateway/gateway.ts";

export const TOKEN = `test-${randomBytes(12).toString("hex")}`;

/**
 * A kubeconfig for a ServiceAccount bound to exactly the rules of
 * deploy/base/gateway/rbac.yaml, so the tests prove the gateway works with
 * the read-only identity it is deployed with. Returns a cleanup for the
 * cluster-scoped objects (the namespace takes the ServiceAccount with it).
 */
export async function readOnlyKubeconfig(
  kube: TestCluster,
  ns: string,
  dir: string,
): Promise<{ kubeconfig: string; user: string; cleanup: () => Promise<void> }> {
  const rbac = parseAllDocuments(
    await readFile(join(REPO_ROOT, "deploy/base/gateway/rbac.yaml"), "utf8"),
  );
  const role = rbac
    .map((d) => d.toJS() as { kind: string; rules?: unknown[] })
    .find((d) => d.kind === "ClusterRole");
  if (!role?.rules) throw new Error("deploy/base/gateway/rbac.yaml has no ClusterRole rules");
  const name = `kg-gateway-${ns}`;
  const objects = [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "kg-gateway", namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name },
      rules: role.rules,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: [{ kind: "ServiceAccount", name: "kg-gateway", namespace: ns }],
    },
  ];
  const applied = await kube.kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
  );
  if (applied.code !== 0) throw new Error(`rbac: ${applied.stderr}`);
  const token = await kube.kubectl(["create", "token", "kg-gateway", "-n", ns, "--duration=2h"]);
  if (token.code !== 0) throw new Error(`create token: ${token.stderr}`);
  const admin = parse(await readFile(kube.kubeconfig, "utf8")) as {
    clusters: { cluster: { server: string; "certificate-authority": string } }[];
  };
  const cluster = admin.clusters[0]?.cluster;
  if (!cluster) throw new Error("admin kubeconfig has no cluster");
  const kubeconfig = join(dir, "gateway.kubeconfig");
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster }],
      users: [{ name: "gateway", user: { token: token.stdout.trim() } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "gateway" } }],
      "current-context": "c",
    }),
    { mode: 0o600 },
  );
  return {
    kubeconfig,
    user: `system:serviceaccount:${ns}:kg-gateway`,
    cleanup: async () => {
      await kube.kubectl(["delete", "clusterrolebinding,clusterrole", name, "--ignore-not-found"]);
    },
  };
}

/** Starts a gateway in this process on a free loopback port. */
export function startTestGateway(env: Record<string, string>): Promise<RunningGateway> {
  return startGateway(
    parseConfig({
      KG_LISTEN: "127.0.0.1:0",
      KG_GATEWAY_TOKENS: TOKEN,
      KG_LOG_LEVEL: "silent",
      ...env,
    }),
  );
}

interface OpenApiDoc {
  paths: Record<
    string,
    Record<
      string,
      { responses?: Record<string, { content?: Record<string, { schema?: object }> }> }
    >
  >;
}

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/**
 * An HTTP client for one gateway that checks every JSON answer against the
 * schema /openapi.json documents for that path, method and status; an
 * undocumented status or a schema violation throws.
 */
export async function apiClient(base: string, token: string | undefined = TOKEN) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const docRes = await fetch(`${base}/openapi.json`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const doc = (await docRes.json()) as OpenApiDoc;
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();

  function check(method: string, path: string, status: number, contentType: string, body: unknown) {
    const template = Object.keys(doc.paths).find((p) =>
      new RegExp(`^${p.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path),
    );
    if (!template) throw new Error(`${path} is not in /openapi.json`);
    const op = doc.paths[template]?.[method.toLowerCase()];
    const response = op?.responses?.[String(status)];
    if (!response) throw new Error(`${method} ${template}: status ${status} is not documented`);
    if (!contentType.includes("json")) return;
    const schema = response.content?.["application/json"]?.schema;
    if (!schema) throw new Error(`${method} ${template} ${status}: no JSON schema documented`);
    const key = `${method} ${template} ${status}`;
    let validate = validators.get(key);
    if (!validate) validators.set(key, (validate = ajv.compile(schema)));
    if (!validate(body)) {
      throw new Error(`${key}: answer violates /openapi.json: ${ajv.errorsText(validate.errors)}`);
    }
  }

  return {
    doc,
    async call<T = unknown>(
      method: string,
      path: string,
      body?: unknown,
      opts: { token?: string | null; headers?: Record<string, string> } = {},
    ): Promise<Answer<T>> {
      const auth = opts.token === null ? undefined : (opts.token ?? token);
      const headers: Record<string, string> = { ...opts.headers };
      if (auth) headers.authorization = `Bearer ${auth}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined
          ? { body: typeof body === "string" ? body : JSON.stringify(body) }
          : {}),
      });
      const text = await res.text();
      const ct = res.headers.get("content-type") ?? "";
      const parsed: unknown = ct.includes("json") ? JSON.parse(text) : text;
      check(method, path.split("?")[0] ?? path, res.status, ct, parsed);
      return { status: res.status, headers: res.headers, body: parsed as T, text };
    },
  };
}

export { eventually } from "./eventually.ts";

/**
 * Cleanups registered as each resource starts, run newest first from after():
 * a setup that failed halfway still releases what it got, and one failing
 * cleanup does not skip the others.
 */
export function cleanupStack() {
  const fns: (() => Promise<unknown>)[] = [];
  return {
    defer(fn: () => Promise<unknown>) {
      fns.push(fn);
    },
    async run() {
      const errors: unknown[] = [];
      for (const fn of fns.splice(0).reverse()) await fn().catch((e: unknown) => errors.push(e));
      if (errors.length) throw new AggregateError(errors, "cleanup failed");
    },
  };
}
