// Guarded actions, the pure half: given a whisper's recommendation decide
// whether to act, how far, and on what. Off by default; dry-run records the
// exact patches; "on" acts only in allow-listed namespaces, at most one step
// factor per change, once per cooldown, and never on stale evidence. For a pod
// owned by a Deployment, StatefulSet or DaemonSet the change that lasts is the
// owner's template; resizing the pod in place is only the immediate relief
// until the owner rolls it out (ADR 0078). Both are planned, applied and
// audited.
import type { Evidence } from "../../shared/model/common.ts";
import type { ActionRecord, Recommendation } from "../../shared/model/kernel-whisper.ts";
import { formatCpu, formatMemory, parseQuantity } from "../engine/quantity.ts";

export type ActionMode = "off" | "dry-run" | "on";

export interface ActionConfig {
  mode: ActionMode;
  /** Namespaces where "on" may change anything. Empty = none. */
  namespaces: string[];
  /** A change may multiply the current value by at most this factor. */
  maxStepFactor: number;
  cooldownMs: number;
  /** Evidence older than max(its window, this) is never acted on. */
  freshnessFloorMs: number;
}

export const DEFAULT_ACTIONS: ActionConfig = {
  mode: "off",
  namespaces: [],
  maxStepFactor: 1.5,
  cooldownMs: 10 * 60_000,
  freshnessFloorMs: 60_000,
};

export interface Patch {
  /** "resize": the pod's resize subresource (relief); "workload": the owner's template (lasting). */
  via: "resize" | "workload";
  target: { apiVersion: string; kind: string; namespace: string; name: string };
  body: object;
  description: string;
}

export type Plan =
  | { kind: "skip" }
  | { kind: "record"; record: ActionRecord }
  | { kind: "apply"; patches: Patch[]; to: string; from: string };

interface Input {
  namespace: string;
  pod?: string;
  recommendation: Recommendation;
  kernelTruth: Evidence;
  history: ActionRecord[];
  now: Date;
}

const RESOURCE_FIELD = /resources\.(limits|requests)\.(cpu|memory)$/;

/** Caps `to` at `from × factor`; returns the value to apply as a quantity string. */
export function capStep(resource: string, from: string, to: string, factor: number): string {
  const f = parseQuantity(from);
  const t = parseQuantity(to);
  if (f === undefined || t === undefined || t <= f * factor) return to;
  return resource === "cpu" ? formatCpu(f * factor) : formatMemory(f * factor);
}

function containerPatch(container: string, kind: string, resource: string, value: string) {
  return {
    spec: { containers: [{ name: container, resources: { [kind]: { [resource]: value } } }] },
  };
}

export function plan(cfg: ActionConfig, input: Input): Plan {
  const change = input.recommendation.change;
  if (cfg.mode === "off" || !change?.container || !change.from) return { kind: "skip" };
  const field = RESOURCE_FIELD.exec(change.field);
  if (!field?.[1] || !field[2]) return { kind: "skip" };
  const [kind, resource] = [field[1], field[2]];
  const action = input.recommendation.action;
  const record = (mode: ActionRecord["mode"], result: string): Plan => {
    const last = input.history.at(-1);
    // Say each refusal or dry-run once, not on every flush.
    if (last?.mode === mode && last.result === result) return { kind: "skip" };
    return {
      kind: "record",
      record: {
        time: input.now.toISOString(),
        action,
        mode,
        result,
        actor: "kernel-gossip-operator",
      },
    };
  };

  const windowMs =
    Date.parse(input.kernelTruth.window.end) - Date.parse(input.kernelTruth.window.start);
  const ageMs = input.now.getTime() - Date.parse(input.kernelTruth.window.end);
  if (ageMs > Math.max(windowMs, cfg.freshnessFloorMs)) {
    return record(
      "refused",
      `evidence from ${input.kernelTruth.window.end} is older than its window`,
    );
  }
  const to = capStep(resource, change.from, change.to, cfg.maxStepFactor);
  const patches: Patch[] = [];
  if (input.pod) {
    patches.push({
      via: "resize",
      target: { apiVersion: "v1", kind: "Pod", namespace: input.namespace, name: input.pod },
      body: containerPatch(change.container, kind, resource, to),
      description: `${change.target.kind !== "Pod" ? "immediate relief: " : ""}resize pod ${input.namespace}/${input.pod} container ${change.container} ${kind}.${resource} ${change.from} → ${to}`,
    });
  }
  if (change.target.kind !== "Pod") {
    patches.push({
      via: "workload",
      target: change.target,
      body: { spec: { template: containerPatch(change.container, kind, resource, to) } },
      description: `lasting change: patch ${change.target.kind} ${change.target.namespace}/${change.target.name} template container ${change.container} ${kind}.${resource} ${change.from} → ${to}`,
    });
  }
  if (patches.length === 0) return { kind: "skip" };

  if (cfg.mode === "dry-run") {
    const each = patches.map((p) => `${p.description}: ${JSON.stringify(p.body)}`);
    return record("dry-run", `would apply: ${each.join("; then ")}`.slice(0, 4000));
  }
  if (!cfg.namespaces.includes(input.namespace)) {
    return record("refused", `namespace ${input.namespace} is not allow-listed for actions`);
  }
  const lastApplied = input.history.filter((r) => r.mode === "applied").at(-1);
  if (lastApplied && input.now.getTime() - Date.parse(lastApplied.time) < cfg.cooldownMs) {
    return record("refused", `cooldown: last change at ${lastApplied.time}`);
  }
  return { kind: "apply", patches, to, from: change.from };
}
