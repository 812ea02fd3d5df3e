// The pure births code: event → certificate mapping, the CRD's bounds,
// incomplete captures, deterministic names, orphan retention and its config.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Value } from "@sinclair/typebox/value";
import type { BirthStep } from "../../shared/model/observer-events.ts";
import {
  PodBirthCertificateSpecSchema,
  PodBirthCertificateStatusSchema,
  type PodBirthCertificate,
} from "../../shared/model/pod-birth-certificate.ts";
import { loadConfig } from "../config.ts";
import {
  buildCertificate,
  buildStatus,
  certificateName,
  LIMITS,
  SIZE_BUDGET,
  summary,
} from "./build.ts";
import { orphansToDelete } from "./retention.ts";
import { birthEvidence } from "../../../tests/support/births.ts";

const UID = "3f2c9a41-6a0e-4d8e-9b39-0d1c2f7e5a11";
const input = (evidence = birthEvidence(UID)) => ({
  node: "node-a",
  ts: "2026-11-25T22:30:02Z",
  namespace: "shop",
  pod: "web-0",
  podUID: UID,
  evidence,
});
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function assertValid(spec: unknown) {
  const errors = [...Value.Errors(PodBirthCertificateSpecSchema, spec)].map(
    (e) => `${e.path}: ${e.message}`,
  );
  assert.deepEqual(errors, []);
}

test("a birth event maps field by field onto the certificate", () => {
  const c = buildCertificate(input());
  assertValid(c.spec);
  assert.equal(c.namespace, "shop");
  assert.deepEqual(c.spec.subject, {
    namespace: "shop",
    pod: "web-0",
    podUID: UID,
    node: "node-a",
  });
  assert.equal(c.spec.startTime, "2026-11-25T22:30:01.123456Z");
  assert.equal(c.spec.truncated, false);
  assert.equal(c.spec.timeline.length, 6);
  assert.deepEqual(c.spec.timeline[2], {
    offsetMicroseconds: 2100,
    actor: "runtime",
    action: "exec",
    detail: "/usr/sbin/runc",
    pid: 4101,
    comm: "runc",
  });
  assert.deepEqual(c.spec.timeline[0], {
    offsetMicroseconds: 0,
    actor: "kubelet",
    action: "cgroup-created",
    detail: `cpu:/kubepods/besteffort/pod${UID}`,
  });
  assert.deepEqual(c.spec.kernelStats, {
    syscalls: 5210,
    namespacesCreated: { mnt: 2, uts: 2, ipc: 1, pid: 1, net: 1 },
    cgroupsCreated: [
      { hierarchy: "cpu,cpuacct", path: `/kubepods/besteffort/pod${UID}` },
      { hierarchy: "memory", path: `/kubepods/besteffort/pod${UID}` },
    ],
    cgroupFilesWritten: [
      { path: `/kubepods/besteffort/pod${UID}/cpu.cfs_quota_us`, value: "50000" },
      { path: `/kubepods/besteffort/pod${UID}/memory.limit_in_bytes`, value: "67108864" },
    ],
    forks: 9,
    execs: 4,
    totalDurationSeconds: 0.041,
  });
  assert.deepEqual(c.labels, {
    "app.kubernetes.io/managed-by": "kernel-gossip-operator",
    "kernel.gossip.io/pod": "web-0",
    "kernel.gossip.io/pod-uid": UID,
  });
  assert.match(c.name, /^web-0-[0-9a-f]{10}$/);
  assert.equal(
    summary(c.spec, true),
    "kernel cascade of the pod start: 5210 syscalls, 7 namespaces, 2 cgroups, " +
      "2 cgroup file writes, 9 forks, 4 execs in 41.0 ms",
  );
});

test("names are deterministic per (pod, window start) and valid object names", () => {
  const a = buildCertificate(input());
  assert.equal(buildCertificate(input()).name, a.name, "a re-delivery lands on the same name");
  const later = buildCertificate(input(birthEvidence(UID, { start: "2026-11-25T23:00:00Z" })));
  assert.notEqual(later.name, a.name, "a later window of the same pod is another certificate");
  const long = certificateName("ns", "Very_Long.Pod".repeat(30), UID, "t");
  assert.ok(long.length <= 253 && DNS_SUBDOMAIN.test(long), long);
  assert.match(certificateName("ns", "---", undefined, "t"), /^birth-[0-9a-f]{10}$/);
});

test("lists are cut at the CRD's maxItems, keeping the steps that matter, and flagged", () => {
  const forks: BirthStep[] = Array.from({ length: 600 }, (_, i) => ({
    offsetMicroseconds: 1000 + i,
    actor: "runtime",
    action: "fork",
    detail: `child ${i}`,
    pid: 5000 + i,
  }));
  const key: BirthStep[] = [
    { offsetMicroseconds: 0, actor: "kubelet", action: "cgroup-created", detail: "cpu:/kubepods" },
    { offsetMicroseconds: 5000, actor: "kernel", action: "namespace-created", detail: "pid" },
    { offsetMicroseconds: 90000, actor: "container", action: "exec", detail: "/bin/sh" },
  ];
  const e = birthEvidence(UID, {
    timeline: [...forks, ...key],
    cgroupsCreated: Array.from({ length: 300 }, (_, i) => ({
      hierarchy: "memory",
      path: `/p/${i}`,
    })),
    cgroupFilesWritten: Array.from({ length: 600 }, (_, i) => ({
      path: `/p/${i}/memory.limit_in_bytes`,
      value: i === 0 ? "9".repeat(3000) : String(i),
    })),
  });
  const c = buildCertificate(input(e));
  assertValid(c.spec);
  assert.equal(c.spec.truncated, true);
  assert.equal(c.spec.timeline.length, LIMITS.timeline);
  assert.equal(c.spec.kernelStats.cgroupsCreated.length, 256);
  assert.equal(c.spec.kernelStats.cgroupFilesWritten.length, 512);
  assert.equal(c.spec.kernelStats.cgroupFilesWritten[0]?.value.length, 1024);
  const offsets = c.spec.timeline.map((t) => t.offsetMicroseconds);
  assert.deepEqual(
    offsets,
    [...offsets].sort((a, b) => a - b),
    "still in time order",
  );
  for (const k of key) {
    assert.ok(
      c.spec.timeline.some((t) => t.action === k.action && t.detail === k.detail),
      `${k.action} ${k.detail} survived the cut`,
    );
  }
  // The counts are the kernel's, not the list lengths.
  assert.equal(c.spec.kernelStats.syscalls, 5210);
  // An event the observer already cut stays flagged even when it fits.
  assert.equal(
    buildCertificate(input(birthEvidence(UID, { truncated: true }))).spec.truncated,
    true,
  );
});

test("a spec of maximal strings is cut to a size etcd stores, keeping the key steps", () => {
  const long = (i: number) => `/${"d".repeat(4000)}/${i}`;
  const e = birthEvidence(UID, {
    timeline: [
      ...Array.from({ length: 600 }, (_, i): BirthStep => ({
        offsetMicroseconds: i,
        actor: "runtime",
        action: "fork",
        detail: "x".repeat(1024),
      })),
      { offsetMicroseconds: 999, actor: "container", action: "exec", detail: "/bin/sh" },
    ],
    cgroupsCreated: Array.from({ length: 256 }, (_, i) => ({ hierarchy: "memory", path: long(i) })),
    cgroupFilesWritten: Array.from({ length: 512 }, (_, i) => ({ path: long(i), value: "1" })),
  });
  const c = buildCertificate(input(e));
  assertValid(c.spec);
  assert.ok(JSON.stringify(c.spec).length <= SIZE_BUDGET, String(JSON.stringify(c.spec).length));
  assert.equal(c.spec.truncated, true);
  assert.ok(c.spec.timeline.some((t) => t.actor === "container" && t.detail === "/bin/sh"));
});

test("strings the API would refuse are made acceptable", () => {
  const e = birthEvidence(UID, {
    start: "not a time",
    timeline: [
      {
        offsetMicroseconds: 0,
        actor: "runtime",
        action: "Cgroup_File Written",
        detail: "x".repeat(2000),
        pid: 2 ** 40,
        comm: "a-very-long-command-name",
      },
      { offsetMicroseconds: 1, actor: "kernel", action: "42", detail: "" },
    ],
    cgroupsCreated: [{ hierarchy: "", path: "" }],
  });
  const c = buildCertificate(input(e));
  assertValid(c.spec);
  assert.equal(c.spec.startTime, "2026-11-25T22:30:02Z", "falls back to the envelope time");
  assert.equal(c.spec.timeline[0]?.action, "cgroup-file-written");
  assert.equal(c.spec.timeline[0].detail.length, 1024);
  assert.equal(c.spec.timeline[0].pid, undefined, "not an int32: left out");
  assert.equal(c.spec.timeline[0].comm, "a-very-long-comm");
  assert.equal(c.spec.timeline[1]?.action, "event");
  assert.equal(c.spec.truncated, true);
});

test("an incomplete capture is an Incomplete certificate with a False condition", () => {
  const t0 = new Date("2026-11-25T22:31:00Z");
  const e = birthEvidence(UID, { complete: false, closeReason: "timeout", durationSeconds: 30 });
  const s = buildStatus(e, 1, undefined, t0);
  assert.ok(Value.Check(PodBirthCertificateStatusSchema, s));
  assert.equal(s.phase, "Incomplete");
  assert.equal(s.observedGeneration, 1);
  assert.deepEqual(s.conditions, [
    {
      type: "Complete",
      status: "False",
      observedGeneration: 1,
      lastTransitionTime: "2026-11-25T22:31:00.000Z",
      reason: "CaptureTimeout",
      message: "capture window closed (timeout) after 30000.0 ms without an entrypoint exec",
    },
  ]);
  // Same status again later: the transition time stays.
  const again = buildStatus(e, 2, s.conditions, new Date("2026-11-25T22:40:00Z"));
  assert.equal(again.conditions?.[0]?.lastTransitionTime, "2026-11-25T22:31:00.000Z");
  assert.equal(again.observedGeneration, 2);
  const done = buildStatus(birthEvidence(UID), 3, s.conditions, new Date("2026-11-25T22:41:00Z"));
  assert.equal(done.phase, "Complete");
  assert.equal(done.conditions?.[0]?.reason, "EntrypointExecuted");
  assert.equal(
    done.conditions[0].message,
    "entrypoint /bin/sleep exec'd 41.0 ms after the first kernel event",
  );
  assert.equal(done.conditions[0].lastTransitionTime, "2026-11-25T22:41:00.000Z");
  // Events the kernel skipped meanwhile are named: the exec may have happened unseen.
  const skipped = birthEvidence(UID, {
    complete: false,
    closeReason: "timeout",
    durationSeconds: 30,
    skippedKernelEvents: 3,
  });
  assert.match(
    buildStatus(skipped, 1, undefined, t0).conditions?.[0]?.message ?? "",
    /without an entrypoint exec; the kernel skipped 3 events in the observer's birth programs/,
  );
  assert.equal(buildCertificate(input(skipped)).spec.kernelStats.skippedKernelEvents, 3);
  assert.equal(
    buildCertificate(input(e)).spec.kernelStats.skippedKernelEvents,
    undefined,
    "left out when none were skipped",
  );
  const shutdown = birthEvidence(UID, { complete: false, closeReason: "shutdown" });
  assert.equal(buildStatus(shutdown, 1, undefined, t0).conditions?.[0]?.reason, "ObserverShutdown");
});

const orphan = (ns: string, name: string, created: string): PodBirthCertificate => ({
  apiVersion: "kernel.gossip.io/v1alpha1",
  kind: "PodBirthCertificate",
  metadata: { namespace: ns, name, uid: `uid-${name}`, creationTimestamp: created },
  spec: buildCertificate(input()).spec,
});

test("retention deletes orphans past their age, then the oldest beyond the count", () => {
  const now = new Date("2026-11-25T12:00:00Z");
  const all = [
    orphan("a", "old", "2026-11-24T11:00:00Z"),
    orphan("a", "n1", "2026-11-25T11:00:00Z"),
    orphan("a", "n2", "2026-11-25T11:10:00Z"),
    orphan("a", "n3", "2026-11-25T11:20:00Z"),
    orphan("b", "m1", "2026-11-25T11:00:00Z"),
  ];
  const doomed = orphansToDelete(all, { maxAgeMs: 24 * 3600_000, maxPerNamespace: 2 }, now);
  assert.deepEqual(
    doomed.map((d) => `${d.namespace}/${d.name}:${d.reason}`),
    ["a/old:age", "a/n1:count"],
  );
  assert.equal(doomed[0]?.uid, "uid-old");
  assert.deepEqual(orphansToDelete(all, { maxAgeMs: 0, maxPerNamespace: 0 }, now), []);
});

test("retention settings come from the environment", () => {
  const c = loadConfig({
    KG_BIRTH_ORPHAN_MAX_AGE: "6h",
    KG_BIRTH_ORPHAN_MAX_PER_NAMESPACE: "0",
    KG_BIRTH_SWEEP_INTERVAL: "30s",
    KG_BIRTHS: "false",
  });
  assert.deepEqual(c.births, {
    enabled: false,
    maxAgeMs: 6 * 3600_000,
    maxPerNamespace: 0,
    sweepIntervalMs: 30_000,
  });
  assert.equal(loadConfig({ KG_BIRTH_ORPHAN_MAX_AGE: "0" }).births.maxAgeMs, 0);
  assert.deepEqual(loadConfig({}).births, {
    enabled: true,
    maxAgeMs: 24 * 3600_000,
    maxPerNamespace: 100,
    sweepIntervalMs: 60_000,
  });
  assert.throws(
    () => loadConfig({ KG_BIRTH_ORPHAN_MAX_PER_NAMESPACE: "-1" }),
    /^ConfigError: KG_BIRTH_ORPHAN_MAX_PER_NAMESPACE: "-1" is not an integer >= 0/,
  );
});
