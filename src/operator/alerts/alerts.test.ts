import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { checkAuthorization, checkSignature, DEFAULT_AUTH } from "./auth.ts";
import type { Alert } from "./schema.ts";
import { nodeFromInstance } from "./community.ts";
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
});

test("a firing alert without a value asks for the kernel's evidence over its window", () => {
  const m = alertToFinding(
    alert({ signal: "oom-kill", pod: "p", namespace: "n" }, { values: {} }),
    "grafana",
    received,
  );
  assert.ok("finding" in m && m.lookup);
  assert.deepEqual(m.lookup, {
    signal: "oom-kill",
    subject: { namespace: "n", pod: "p" },
    // From 5 minutes (the default window) before the alert started, to its receipt.
    startMs: Date.parse("2026-11-25T09:55:00Z"),
    endMs: received.getTime(),
  });
  assert.match(m.whenNone, /no OOM kill/);
});

test("label values that cannot be Kubernetes names are invalid, naming the label", () => {
  const bad = (labels: Record<string, string>) =>
    alertToFinding(alert({ signal: "oom-kill", ...labels }), "alertmanager", received);
  assert.match(
    (bad({ namespace: "n", pod: "p".repeat(10_000) }) as { invalid: string }).invalid,
    /^labels\.pod "p{64}… \(10000 characters\)" is not a Kubernetes name \(DNS-1123 subdomain/,
  );
  assert.match(
    (bad({ namespace: "Shop", pod: "p" }) as { invalid: string }).invalid,
    /^labels\.namespace "Shop" is not a Kubernetes name \(DNS-1123 label/,
  );
  assert.match(
    (bad({ namespace: "n", pod: "p", container: "a_b" }) as { invalid: string }).invalid,
    /^labels\.container/,
  );
  assert.match(
    (bad({ cgroup: "kubepods/x" }) as { invalid: string }).invalid,
    /^labels\.cgroup "kubepods\/x" is not a cgroup path/,
  );
  // Alerts outside every contract are not validated: they are ignored.
  assert.deepEqual(
    alertToFinding(alert({ alertname: "DiskFull", pod: "x".repeat(300) }), "grafana", received),
    { ignored: "no-signal-label" },
  );
});

test("a drop alert keeps its reason: in the evidence, and as part of the whisper's identity", () => {
  const m = alertToFinding(
    alert({ signal: "packet-drops", cgroup: "/web", reason: "NO_SOCKET" }),
    "alertmanager",
    received,
  );
  assert.ok("finding" in m);
  assert.equal(m.finding.reason, "NO_SOCKET");
  assert.equal(m.finding.kernelTruth.attributes?.reason, "NO_SOCKET");
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

// Label sets as the upstream rules produce them (see ./community.ts for the rule texts).
test("kubernetes-mixin CPUThrottlingHigh: the pod's container, engine-graded, evidence looked up", () => {
  const m = alertToFinding(
    alert(
      {
        alertname: "CPUThrottlingHigh",
        namespace: "shop",
        pod: "web-0",
        container: "app",
        instance: "10.0.0.7:10250",
        service: "kubelet",
        severity: "info",
      },
      {
        values: undefined,
        annotations: { summary: "Processes experience elevated CPU throttling." },
      },
    ),
    "alertmanager",
    received,
  );
  assert.ok("finding" in m && m.lookup);
  assert.equal(m.finding.signal, "cpu-throttling");
  assert.deepEqual(m.finding.subject, { namespace: "shop", pod: "web-0", container: "app" });
  assert.equal(m.finding.severity, undefined);
  assert.equal(m.lookup.startMs, Date.parse("2026-11-25T09:55:00Z"));
  assert.match(
    m.finding.kernelTruth.origin ?? "",
    /alertmanager alert CPUThrottlingHigh \(kubernetes-mixin\)/,
  );
});

test("KubePodCrashLooping and OOMKilled alerts ask whether the kernel OOM-killed the container", () => {
  const bodies: Record<string, string>[] = [
    { alertname: "KubePodCrashLooping", reason: "CrashLoopBackOff", uid: "u-1" },
    { alertname: "KubernetesContainerOomKiller", uid: "u-1" },
    { alertname: "MyOomAlert", reason: "OOMKilled" },
  ];
  for (const labels of bodies) {
    const m = alertToFinding(
      alert(
        { namespace: "shop", pod: "web-0", container: "app", job: "kube-state-metrics", ...labels },
        { values: undefined },
      ),
      "alertmanager",
      received,
    );
    assert.ok("finding" in m && m.lookup, labels.alertname);
    assert.equal(m.lookup.signal, "oom-kill");
    assert.equal(m.finding.reason, undefined, "only drop reasons are identity");
  }
});

test("node-exporter memory alerts name the node from instance, not the exporter's own pod", () => {
  const m = alertToFinding(
    alert(
      {
        alertname: "NodeMemoryMajorPagesFaults",
        instance: "node-a:9100",
        job: "node-exporter",
        namespace: "monitoring",
        pod: "node-exporter-x7k2p",
        container: "node-exporter",
        severity: "warning",
      },
      { values: undefined },
    ),
    "alertmanager",
    received,
  );
  assert.ok("finding" in m && m.lookup);
  assert.equal(m.finding.signal, "memory-pressure");
  assert.deepEqual(m.finding.subject, { node: "node-a", cgroupPath: "/" });
  assert.deepEqual(nodeFromInstance("[fd00::1]:9100"), "fd00::1");
  assert.deepEqual(nodeFromInstance("node-b"), "node-b");
});
