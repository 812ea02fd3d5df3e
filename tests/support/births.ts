// Test input for the births code: a birth event shaped like the observer's
// (src/shared/model/observer-events.ts), for a pod with a sandbox and one app
// container on cgroupfs (kubelet's layout on these hosts). Builders, not data:
// every test states the numbers it then asserts.
import type {
  BirthEvent,
  BirthStep,
  ObserverEvent,
} from "../../src/shared/model/observer-events.ts";

export interface BirthPod {
  namespace?: string;
  pod?: string;
  podUID?: string;
}

export function birthEvidence(podUID: string, over: Partial<BirthEvent> = {}): BirthEvent {
  const pod = `/kubepods/besteffort/pod${podUID}`;
  const steps: BirthStep[] = [
    { offsetMicroseconds: 0, actor: "kubelet", action: "cgroup-created", detail: `cpu:${pod}` },
    {
      offsetMicroseconds: 900,
      actor: "runtime",
      action: "fork",
      detail: "containerd-shim-runc-v2",
      pid: 4100,
      comm: "containerd",
    },
    {
      offsetMicroseconds: 2100,
      actor: "runtime",
      action: "exec",
      detail: "/usr/sbin/runc",
      pid: 4101,
      comm: "runc",
    },
    {
      offsetMicroseconds: 3300,
      actor: "kernel",
      action: "namespace-created",
      detail: "net",
      pid: 4102,
      comm: "runc:[1:CHILD]",
    },
    {
      offsetMicroseconds: 3400,
      actor: "runtime",
      action: "cgroup-file-written",
      detail: `cpu.cfs_quota_us=50000`,
      pid: 4101,
      comm: "runc",
    },
    {
      offsetMicroseconds: 41000,
      actor: "container",
      action: "exec",
      detail: "/bin/sleep",
      pid: 4120,
      comm: "sleep",
    },
  ];
  return {
    windowId: 7,
    start: "2026-11-25T22:30:01.123456Z",
    complete: true,
    closeReason: "entrypoint",
    durationSeconds: 0.041,
    syscalls: 5210,
    forks: 9,
    execs: 4,
    namespacesCreated: { mnt: 2, uts: 2, ipc: 1, pid: 1, net: 1 },
    cgroupsCreated: [
      { hierarchy: "cpu,cpuacct", path: pod },
      { hierarchy: "memory", path: pod },
    ],
    cgroupFilesWritten: [
      { path: `${pod}/cpu.cfs_quota_us`, value: "50000" },
      { path: `${pod}/memory.limit_in_bytes`, value: "67108864" },
    ],
    containers: [
      {
        id: "aaaa",
        cgroup: `${pod}/aaaa`,
        sandbox: true,
        entrypoint: "/pause",
        entrypointOffsetMicroseconds: 20000,
      },
      {
        id: "bbbb",
        cgroup: `${pod}/bbbb`,
        sandbox: false,
        entrypoint: "/bin/sleep",
        entrypointOffsetMicroseconds: 41000,
      },
    ],
    timeline: steps,
    truncated: false,
    ...over,
  };
}

let seq = 0;

/** One /events line carrying `evidence` for the pod (envelope as the observer writes it). */
export function birthLine(p: BirthPod, evidence: BirthEvent, node = "node-test"): string {
  const now = Date.now();
  const ev: ObserverEvent = {
    seq: ++seq,
    ts: new Date(now).toISOString(),
    tsUnixMs: now,
    node,
    type: "birth",
    workload: {
      kind: p.pod ? "pod" : "container",
      ...(p.namespace ? { namespace: p.namespace } : {}),
      ...(p.pod ? { pod: p.pod } : {}),
      ...(p.podUID ? { podUID: p.podUID } : {}),
      cgroup: evidence.cgroupsCreated[0]?.path ?? "/",
    },
    evidence,
  };
  return JSON.stringify(ev);
}
