// Grafana's webhook signature, configured on both ends: wherever an install gives
// the operator the HMAC secret (deploy/ through kustomize, the Helm chart, the
// compose file), it also gives it the timestamp header the provisioned contact
// point sends, since that contact point signs "<timestamp>:<body>" and an operator
// without the header would check the signature of the body alone and refuse
// every Grafana alert with 401. The expected header is read from the generated
// provisioning file (provisioning/alerting), not restated here.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { kubeBinaries, REPO_ROOT } from "../src/local/runtime/binaries.ts";
import { helmTemplate, parseObjects, type K8sObject } from "./env/helm.ts";

const run = promisify(execFile);

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

const contactPointHmac = (() => {
  const file = parse(
    readFileSync(join(REPO_ROOT, "provisioning/alerting/kernel-gossip.yaml"), "utf8"),
  ) as {
    contactPoints: { receivers: { settings: { hmacConfig?: { timestampHeader?: string } } }[] }[];
  };
  const hmac = file.contactPoints.flatMap((c) => c.receivers).find((r) => r.settings.hmacConfig)
    ?.settings.hmacConfig;
  assert.ok(hmac?.timestampHeader, "the provisioned contact point signs with a timestamp header");
  return hmac;
})();

/** The operator container's env in a rendered install. */
function operatorEnv(objects: K8sObject[]): EnvVar[] {
  const d = objects.find(
    (o) => o.kind === "Deployment" && o.metadata.name === "kernel-gossip-operator",
  ) as { spec: { template: { spec: { containers: { env?: EnvVar[] }[] } } } } | undefined;
  assert.ok(d, "no kernel-gossip-operator Deployment");
  return d.spec.template.spec.containers[0]?.env ?? [];
}

function assertTimestampHeaderWithSecret(env: EnvVar[], where: string): void {
  assert.ok(
    env.some((e) => e.name === "KG_WEBHOOK_HMAC_SECRET"),
    `${where}: the operator gets no HMAC secret`,
  );
  assert.equal(
    env.find((e) => e.name === "KG_WEBHOOK_HMAC_TIMESTAMP_HEADER")?.value,
    contactPointHmac.timestampHeader,
    `${where}: KG_WEBHOOK_HMAC_SECRET without KG_WEBHOOK_HMAC_TIMESTAMP_HEADER=${contactPointHmac.timestampHeader ?? ""}: every Grafana alert would get 401`,
  );
}

for (const dir of ["deploy", "deploy/overlays/actions"]) {
  test(`${dir}: the operator gets the contact point's timestamp header with the HMAC secret`, async () => {
    const { stdout } = await run(kubeBinaries().kubectl, ["kustomize", join(REPO_ROOT, dir)], {
      maxBuffer: 64 << 20,
    });
    assertTimestampHeaderWithSecret(operatorEnv(parseObjects(stdout)), dir);
  });
}

test("Helm chart: the operator gets the contact point's timestamp header with the HMAC secret", async () => {
  for (const set of [[], ["operator.webhookSecret=other-secret"]]) {
    const { objects } = await helmTemplate("kernel-gossip", set);
    assertTimestampHeaderWithSecret(operatorEnv(objects), `helm template ${set.join(" ")}`);
  }
});

test("docker-compose.yaml: the operator checks Grafana's signature with the secret Grafana signs with", () => {
  const compose = parse(readFileSync(join(REPO_ROOT, "docker-compose.yaml"), "utf8")) as {
    services: Record<string, { environment?: Record<string, string> }>;
  };
  const op = compose.services.operator?.environment ?? {};
  const graf = compose.services.grafana?.environment ?? {};
  assertTimestampHeaderWithSecret(
    Object.entries(op).map(([name, value]) => ({ name, value })),
    "docker-compose.yaml operator",
  );
  assert.equal(
    op.KG_WEBHOOK_HMAC_SECRET,
    graf.KG_WEBHOOK_HMAC_SECRET,
    "operator and Grafana secrets differ",
  );
});
