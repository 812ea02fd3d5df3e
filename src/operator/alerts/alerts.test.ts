import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { checkAuthorization, checkSignature, DEFAULT_AUTH } from "./auth.ts";
import type { Alert } from "./schema.ts";
import { alertToFinding, parseDuration } from "./to-findings.ts";

const received = new Date("2026-11-25T10:05:00Z");
const alert = (labels: Record<string, string>, extra: Partial<Alert> = {}): Alert => ({
  status: "firing",
  labels,
  annotations: {},
  startsAt: "2026-11-25T10:00:00Z",
  endsAt: "0001-01-01T00:00:00Z",
  values: { B: 0.62 },
  ...extra,
});

test("signal and subject labels map to a finding; Grafana values give the quantity", () => {
  const m = alertToFinding(
    alert({
      alertname: "CpuThrottling",
      kernel_gossip_signal: "cpu-throttling",
      namespace: "shop",
      pod: "web-0",
      container: "app",
      severity: "critical",
    }),
    "grafana",
    received,
  );
  assert.ok("finding" in m);
  const f = m.finding;
  assert.equal(f.signal, "cpu-throttling");
  assert.deepEqual(f.subject, { namespace: "shop", pod: "web-0", container: "app" });
  assert.equal(f.severity, "critical");
  assert.deepEqual(f.kernelTruth.quantities, [
    { name: "throttledPeriodsRatio", value: 0.62, unit: "ratio" },
  ]);
  assert.equal(f.kernelTruth.window.start, "2026-11-25T10:00:00.000Z");
});

test("annotations override quantity, unit, window and add a metrics view", () => {
  const m = alertToFinding(
    alert(
      { signal: "runqueue-delay", cgroup: "/kubepods/burstable/pod1" },
      {
        values: null,
        annotations: {
          kernel_gossip_value: "0.031",
          kernel_gossip_quantity: "runqueueDelayP99Seconds",
          kernel_gossip_unit: "seconds",
          kernel_gossip_window: "1m",
          kernel_gossip_metrics_quantity: "avgCpuUsagePercentOfLimit",
          kernel_gossip_metrics_value: "41",
        },
      },
    ),
    "alertmanager",
    received,
  );
  assert.ok("finding" in m);
  assert.deepEqual(m.finding.subject, { cgroupPath: "/kubepods/burstable/pod1" });
  assert.equal(m.finding.kernelTruth.quantities[0]?.value, 0.031);
  assert.equal(m.finding.kernelTruth.window.start, "2026-11-25T10:04:00.000Z");
  assert.equal(m.finding.metricsView?.quantities[0]?.value, 41);
});

test("alerts without the label contract are ignored with a reason", () => {
  assert.deepEqual(alertToFinding(alert({ alertname: "Watchdog" }), "alertmanager", received), {
    ignored: "no-signal-label",
  });
  assert.deepEqual(
    alertToFinding(alert({ signal: "disk-full", pod: "p", namespace: "n" }), "grafana", received),
    { ignored: "unknown-signal" },
  );
  assert.deepEqual(alertToFinding(alert({ signal: "oom-kill" }), "grafana", received), {
    ignored: "no-subject-labels",
  });
  assert.deepEqual(alertToFinding(alert({ signal: "oom-kill", pod: "p" }), "grafana", received), {
    ignored: "pod-without-namespace",
  });
  assert.deepEqual(
    alertToFinding(
      alert({ signal: "oom-kill", pod: "p", namespace: "n" }, { values: {} }),
      "grafana",
      received,
    ),
    { ignored: "no-value" },
  );
});

test("ratios from alert math are clamped into the CRD's range", () => {
  const m = alertToFinding(
    alert({ signal: "cpu-throttling", pod: "p", namespace: "n" }, { values: { A: 1.3 } }),
    "grafana",
    received,
  );
  assert.ok("finding" in m);
  assert.equal(m.finding.kernelTruth.quantities[0]?.value, 1);
});

test("durations parse like Prometheus'", () => {
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("5 minutes"), undefined);
});

test("bearer and basic credentials", () => {
  const c = { ...DEFAULT_AUTH, token: "s3cret", basicUser: "am", basicPassword: "pw" };
  assert.equal(checkAuthorization(c, "Bearer s3cret"), undefined);
  assert.equal(
    checkAuthorization(c, `Basic ${Buffer.from("am:pw").toString("base64")}`),
    undefined,
  );
  assert.equal(checkAuthorization(c, "Bearer nope"), "invalid credentials");
  assert.equal(checkAuthorization(c, undefined), "missing Authorization header");
  assert.equal(checkAuthorization(DEFAULT_AUTH, undefined), undefined);
});

test("Grafana's HMAC signature, with and without a timestamp header", () => {
  const body = '{"alerts":[]}';
  const c = { ...DEFAULT_AUTH, hmacSecret: "k" };
  const sig = createHmac("sha256", "k").update(body).digest("hex");
  const now = new Date();
  assert.equal(checkSignature(c, body, { "x-grafana-alerting-signature": sig }, now), undefined);
  assert.equal(
    checkSignature(c, body + " ", { "x-grafana-alerting-signature": sig }, now),
    "invalid signature",
  );
  const ct = { ...c, hmacTimestampHeader: "X-Grafana-Alerting-Timestamp" };
  const ts = String(Math.floor(now.getTime() / 1000));
  const tsig = createHmac("sha256", "k").update(`${ts}:${body}`).digest("hex");
  assert.equal(
    checkSignature(
      ct,
      body,
      { "x-grafana-alerting-signature": tsig, "x-grafana-alerting-timestamp": ts },
      now,
    ),
    undefined,
  );
  assert.equal(
    checkSignature(
      ct,
      body,
      { "x-grafana-alerting-signature": tsig, "x-grafana-alerting-timestamp": ts },
      new Date(now.getTime() + 600_000),
    ),
    "signature timestamp too old",
  );
});

test("Grafana's two signature header names are both accepted (its sender's default and its docs')", () => {
  const body = '{"alerts":[]}';
  const sig = createHmac("sha256", "k").update(body).digest("hex");
  const now = new Date();
  // A contact point with the header left blank: grafana/alerting's http/hmac.go sends
  // X-Grafana-Alert-Signature; the docs and the UI placeholder say X-Grafana-Alerting-Signature.
  for (const configured of ["X-Grafana-Alerting-Signature", "X-Grafana-Alert-Signature"]) {
    const c = { ...DEFAULT_AUTH, hmacSecret: "k", hmacHeader: configured };
    for (const sent of ["x-grafana-alert-signature", "x-grafana-alerting-signature"]) {
      assert.equal(
        checkSignature(c, body, { [sent]: sig }, now),
        undefined,
        `${configured}/${sent}`,
      );
    }
  }
  assert.equal(
    checkSignature({ ...DEFAULT_AUTH, hmacSecret: "k" }, body, {}, now),
    "missing X-Grafana-Alerting-Signature header",
  );
  // A header of the user's own choosing is the only one read.
  const custom = { ...DEFAULT_AUTH, hmacSecret: "k", hmacHeader: "X-Our-Signature" };
  assert.equal(checkSignature(custom, body, { "x-our-signature": sig }, now), undefined);
  assert.equal(
    checkSignature(custom, body, { "x-grafana-alert-signature": sig }, now),
    "missing X-Our-Signature header",
  );
});
