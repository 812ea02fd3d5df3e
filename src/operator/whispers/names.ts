// Deterministic whisper names: readable (signal + pod/container or cgroup
// leaf) and unique (a short hash of the full identity), within DNS-1123 rules.
import { createHash } from "node:crypto";
import type { Signal, Subject } from "../../shared/model/kernel-whisper.ts";

const clean = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .replace(/-{2,}/g, "-");

export function whisperName(subject: Subject, signal: Signal): string {
  const identity = JSON.stringify([
    signal,
    subject.namespace,
    subject.pod,
    subject.container,
    subject.pod ? undefined : subject.node,
    subject.pod ? undefined : subject.cgroupPath,
  ]);
  const hash = createHash("sha256").update(identity).digest("hex").slice(0, 8);
  const who = subject.pod
    ? [subject.pod, subject.container].filter(Boolean).join("-")
    : ((subject.cgroupPath ?? "").split("/").filter(Boolean).pop() ?? "root");
  const base = clean(`${signal}-${who}`).slice(0, 240).replace(/-+$/, "");
  return `${base}-${hash}`;
}
