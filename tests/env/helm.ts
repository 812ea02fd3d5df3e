// The helm binary scripts/setup.sh builds from the Go module proxy
// ($KG_CACHE/helm-<HELM_VERSION>/helm, scripts/lib.sh helm_dir), and
// `helm template` of the repository's chart.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { goInstalled, REPO_ROOT } from "../../src/local/runtime/binaries.ts";

const run = promisify(execFile);
export const CHART = join(REPO_ROOT, "charts/kernel-gossip");

export const helmBinary = (): string => goInstalled("helm", "HELM_VERSION");

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export const parseObjects = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o?.kind);

/** `helm template` of the chart: the YAML text (CRDs included) and its objects. */
export async function helmTemplate(
  namespace: string,
  set: string[] = [],
): Promise<{ text: string; objects: K8sObject[] }> {
  const args = ["template", "kernel-gossip", CHART, "--namespace", namespace, "--include-crds"];
  for (const s of set) args.push("--set", s);
  const { stdout } = await run(helmBinary(), args, { maxBuffer: 64 << 20 });
  return { text: stdout, objects: parseObjects(stdout) };
}
