// The request builder alone (no network): Grafana's provisioning expansion,
// and every rule's request accepted by the operator's own body schema,
// credential and signature checks with the settings of the generated file.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { checkAuthorization, checkSignature, DEFAULT_AUTH } from "../../operator/alerts/auth.ts";
import { WebhookBodySchema } from "../../operator/alerts/schema.ts";
import { alertToFinding } from "../../operator/alerts/to-findings.ts";
import { PROVISIONING } from "../grafana/files.ts";
import { HMAC_HEADER, HMAC_TIMESTAMP_HEADER } from "./grafana-alerting.ts";
import {
  expandEnv,
  grafanaWebhookRequest,
  interpolate,
  type ProvisionedAlerting,
} from "../../../tests/support/grafana/webhook-request.ts";
import { ALERT_SPECS } from "./rules.ts";

test("Grafana's ${VAR} / $VAR expansion, $$ for a literal $", () => {
  const env = { A: "x", B: "y$z" };
  assert.equal(expandEnv("${A}/$A-$B", env), "x/x-y$z");
  assert.equal(expandEnv("$$A ${MISSING}.", env), "$A .");
});

test("every rule's request passes the operator's schema, credentials and signature", async () => {
  const file = interpolate(
    parse(await readFile(PROVISIONING.alerting, "utf8")) as ProvisionedAlerting,
    { KG_OPERATOR_URL: "http://op:8080", KG_WEBHOOK_TOKEN: "tok", KG_WEBHOOK_HMAC_SECRET: "sec" },
  );
  const auth = {
    ...DEFAULT_AUTH,
    token: "tok",
    hmacSecret: "sec",
    hmacHeader: HMAC_HEADER,
    hmacTimestampHeader: HMAC_TIMESTAMP_HEADER,
  };
  const validate = new Ajv({ strict: false }).compile(WebhookBodySchema);
  const now = new Date();
  for (const spec of ALERT_SPECS) {
    const req = grafanaWebhookRequest(
      file,
      spec.uid,
      { labels: { cgroup: "/kg/x", node: "n1" }, values: { B: 0.42, C: 1 }, startsAt: now },
      now,
    );
    assert.equal(req.url, "http://op:8080/webhooks/grafana");
    const lower = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]),
    );
    assert.equal(checkAuthorization(auth, lower.authorization), undefined);
    assert.equal(checkSignature(auth, req.body, lower, now), undefined);
    assert.equal(
      checkSignature({ ...auth, hmacSecret: "other" }, req.body, lower, now),
      "invalid signature",
    );
    const body = JSON.parse(req.body) as unknown;
    assert.ok(validate(body), JSON.stringify(validate.errors));
    const alert = (body as { alerts: Parameters<typeof alertToFinding>[0][] }).alerts[0];
    assert.ok(alert);
    const mapped = alertToFinding(alert, "grafana", now);
    assert.ok("finding" in mapped, JSON.stringify(mapped));
    assert.equal(mapped.finding.signal, spec.signal);
    assert.deepEqual(mapped.finding.subject, { cgroupPath: "/kg/x", node: "n1" });
    assert.deepEqual(mapped.finding.kernelTruth.quantities, [
      { name: spec.quantity, value: 0.42, unit: spec.unit },
    ]);
  }
});

test("as Grafana's sender: a blank signature header is X-Grafana-Alert-Signature, an empty secret refuses to send", async () => {
  const raw = parse(await readFile(PROVISIONING.alerting, "utf8")) as ProvisionedAlerting;
  const env = { KG_OPERATOR_URL: "http://op:8080", KG_WEBHOOK_TOKEN: "tok" };
  const now = new Date();
  const evaluated = { labels: { cgroup: "/kg/x" }, values: { B: 0.5, C: 1 }, startsAt: now };
  const uid = ALERT_SPECS[0]?.uid ?? "";
  // The generated file with KG_WEBHOOK_HMAC_SECRET unset: Grafana would send nothing.
  assert.throws(
    () => grafanaWebhookRequest(interpolate(raw, env), uid, evaluated, now),
    /hmacConfig\.secret is empty.*secret must be provided/,
  );
  // A contact point made by hand with the header left blank.
  const blank = interpolate(raw, { ...env, KG_WEBHOOK_HMAC_SECRET: "sec" });
  for (const p of blank.contactPoints)
    for (const r of p.receivers) if (r.settings.hmacConfig) r.settings.hmacConfig.header = "";
  const req = grafanaWebhookRequest(blank, uid, evaluated, now);
  assert.ok(req.headers["X-Grafana-Alert-Signature"]);
  assert.equal(req.headers[HMAC_HEADER], undefined);
  const lower = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const auth = {
    ...DEFAULT_AUTH,
    hmacSecret: "sec",
    hmacTimestampHeader: HMAC_TIMESTAMP_HEADER,
  };
  assert.equal(checkSignature(auth, req.body, lower, now), undefined);
});
