// Deterministic whisper names: readable (signal + pod/container or cgroup
// leaf, and the reason when the identity has one) and unique (a short hash of
// the full identity), within DNS-1123 rules.
import { createHash } from "node:crypto";
import type { Signal, Subject } from "../../shared/model/kernel-whisper.ts";

const clean = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .replace(/-{2,}/g, "-");

export function whisperName(subject: Subject, signal: Signal, reason?: string): string {
  const identity = JSON.stringify([
    signal,
    subject.namespace,
    subject.pod,
    subject.container,
    subject.pod ? undefined : subject.node,
    subject.pod ? undefined : subject.cgroupPath,
    // Only when present, so names of whispers without a reason stay what they were.
    ...(reason !== undefined ? [reason] : []),
  ]);
  const hash = createHash("sha256").update(identity).digest("hex").slice(0, 8);
  const who = subject.pod
    ? [subject.pod, subject.container].filter(Boolean).join("-")
    : ((subject.cgroupPath ?? "").split("/").filter(Boolean).pop() ?? "root");
  const kind = reason !== undefined ? `-${reason.replace(/^SKB_DROP_REASON_/, "")}` : "";
  const base = clean(`${signal}-${who}${kind}`).slice(0, 240).replace(/-+$/, "");
  return `${base}-${hash}`;
}
