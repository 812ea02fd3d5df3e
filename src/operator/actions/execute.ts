// Guarded actions, the I/O half: applies a plan through the API — in-place pod
// resize first, the owning workload's template when resize is not possible —
// and returns the audit record for the whisper's status.
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
  const errors: string[] = [];
  for (const patch of plan.patches) {
    try {
      await apply(kube, patch);
      return [
        {
          ...base,
          mode: "applied",
          result: `${patch.description}: ${JSON.stringify(patch.body)}`,
        },
      ];
    } catch (err) {
      errors.push(
        `${patch.via}: HTTP ${statusCode(err) ?? "error"} ${err instanceof Error ? (err.message.split("\n")[0] ?? "") : ""}`,
      );
    }
  }
  return [{ ...base, mode: "failed", result: errors.join("; ").slice(0, 4000) }];
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
