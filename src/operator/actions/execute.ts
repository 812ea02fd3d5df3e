// Guarded actions, the I/O half: applies a plan through the API — the pod's
// in-place resize as immediate relief, then the owning workload's template as
// the change that lasts (ADR 0078) — and returns one audit record per patch
// for the whisper's status.
import type { ActionRecord, Recommendation } from "../../shared/model/kernel-whisper.ts";
import { statusCode, type Kube } from "../kube.ts";
import type { Patch, Plan } from "./plan.ts";

export async function execute(
  kube: Kube,
  plan: Extract<Plan, { kind: "apply" }>,
  recommendation: Recommendation,
  now: Date,
): Promise<ActionRecord[]> {
  const base = {
    time: now.toISOString(),
    action: recommendation.action,
    actor: "kernel-gossip-operator",
  };
  const records: ActionRecord[] = [];
  // Relief first (the pod now), then the owner's template (the pods to come):
  // one audit record each, so a failed resize never hides the lasting change.
  for (const patch of plan.patches) {
    try {
      await apply(kube, patch);
      records.push({
        ...base,
        mode: "applied",
        result: `${patch.description}: ${JSON.stringify(patch.body)}`.slice(0, 4000),
      });
    } catch (err) {
      const why = err instanceof Error ? (err.message.split("\n")[0] ?? "") : "";
      records.push({
        ...base,
        mode: "failed",
        result: `${patch.description}: HTTP ${statusCode(err) ?? "error"} ${why}`.slice(0, 4000),
      });
    }
  }
  return records;
}

function apply(kube: Kube, patch: Patch) {
  const t = patch.target;
  return patch.via === "resize"
    ? kube.resizePod(t.namespace, t.name, patch.body)
    : kube.patchWorkload(
        { apiVersion: t.apiVersion, kind: t.kind, name: t.name, namespace: t.namespace },
        patch.body,
      );
}
