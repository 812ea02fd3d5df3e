// Right-sizing and verified actions in the writer (ADR 0090, 0091): the sizing
// that decides a CPU-throttling whisper's change, the verification an applied
// change starts, and the verdict — keep, or roll back within the guards — when
// the equal window after it closes.
import type { Recommendation } from "../../shared/model/kernel-whisper.ts";
import { execute } from "../actions/execute.ts";
import { revertPatches, type ActionConfig, type plan } from "../actions/plan.ts";
import { pickContainer, type PodInfo } from "../engine/pod-info.ts";
import { formatCpu } from "../engine/quantity.ts";
import { resourceChange, type Assessment } from "../engine/rules.ts";
import type { Kube } from "../kube.ts";
import type { Log } from "../log.ts";
import type { OperatorMetrics } from "../metrics.ts";
import type { ContainerRef, Sizer } from "../sizing/sizer.ts";
import { verdict } from "../sizing/verify.ts";
import type { Book, Entry } from "./book.ts";
import { buildEvent } from "./build.ts";

/** Said once by a pod-level whisper: its container's whisper makes the change. */
const CONTAINER_ACTS =
  "the pod's cgroup: the change is made through the whisper about its container";
/** Said once while an observer's throttling waits for enough sizing history. */
const WAITING =
  "waiting for the sizing window: a change needs the kernel's history of the container (see status.sizing)";

export interface VerifiedDeps {
  kube: Kube;
  book: Book;
  actions: ActionConfig;
  metrics: OperatorMetrics;
  log: Log;
  sizer?: Sizer;
  now: () => Date;
  /** Drops the writer's cached view of a pod (its limits changed). */
  forgetPod: (key: string) => void;
}

/** A container's identity for its history: names, and the UID and id an observer without API access labels it by. */
function refOf(pod: PodInfo, container: string): ContainerRef {
  const id = Object.entries(pod.containerIds ?? {}).find(([, name]) => name === container)?.[0];
  return {
    namespace: pod.namespace,
    pod: pod.name,
    container,
    uid: pod.uid,
    ...(id ? { containerId: id } : {}),
  };
}

export function verifiedActions(deps: VerifiedDeps) {
  /**
   * CPU throttling of a pod's container: the kernel-aware sizing over its window
   * decides the change (ADR 0090). Too thin: an observer's finding waits for the
   * window (`hold`); an alert's own evidence is acted on as before, and verified.
   */
  async function sizeFor(
    e: Entry,
    pod: PodInfo | undefined,
    a: Assessment,
  ): Promise<{ recommendation: Recommendation; hold?: string }> {
    const asIs = { recommendation: a.recommendation };
    const sizer = deps.sizer;
    const res = pickContainer(pod, e.subject.container);
    if (!sizer || e.signal !== "cpu-throttling" || !pod || !res) return asIs;
    const t = deps.now().getTime();
    if (e.sizedAt === undefined || t - e.sizedAt >= Math.min(sizer.sampleMs, 60_000)) {
      try {
        const { rec, status } = await sizer.size(refOf(pod, res.name), res, t);
        e.sizing = status;
        e.sizedAt = t;
        e.sizingRec = rec;
      } catch (err) {
        deps.log.warn({ whisper: e.name, err: String(err) }, "right-sizing history not read");
      }
    }
    const rec = e.sizingRec;
    const hold = e.source === "observer" && deps.actions.mode !== "off" ? WAITING : undefined;
    // The observer reports a pod's cgroup and its container's: one change, by the latter.
    const byContainer =
      e.subject.container === undefined && e.source === "observer" && deps.actions.mode !== "off"
        ? CONTAINER_ACTS
        : undefined;
    if (!rec || rec.thin || rec.cpu.demandCores === undefined) return { ...asIs, hold };
    const over = `Kernel-aware sizing over ${e.sizing?.window.start} – ${e.sizing?.window.end} (${rec.confidence} confidence, ${rec.samples} samples): `;
    if (rec.cpu.limitCores === undefined || res.cpuLimitCores === undefined) {
      return { recommendation: { action: "none", rationale: `${over}${rec.cpu.rationale}` } };
    }
    return {
      ...(byContainer ? { hold: byContainer } : {}),
      recommendation: {
        action: "raise-cpu-limit",
        rationale: `${over}${rec.cpu.rationale}`.slice(0, 4096),
        change: resourceChange(
          pod,
          res,
          "limits",
          "cpu",
          formatCpu(res.cpuLimitCores),
          formatCpu(rec.cpu.limitCores),
        ),
      },
    };
  }

  /** An applied change: measure the window before it; the same length after it decides. */
  async function start(e: Entry, p: Extract<ReturnType<typeof plan>, { kind: "apply" }>) {
    const sizer = deps.sizer;
    const { namespace, pod } = e.subject;
    if (!sizer || !namespace || !pod) return;
    const t = deps.now().getTime();
    const info = await deps.kube.getPod(namespace, pod);
    const ref = info ? refOf(info, p.container) : { namespace, pod, container: p.container };
    const before = await sizer.measures(ref, t - sizer.windowMs, t).catch((err: unknown) => {
      deps.log.warn({ whisper: e.name, err: String(err) }, "evidence before the change not read");
      return undefined;
    });
    if (!before) return;
    e.verification = {
      phase: "watching",
      container: p.container,
      field: `resources.${p.field}.${p.resource}`,
      from: p.from,
      to: p.to,
      ...(p.requestFollows ? { requestFollows: true } : {}),
      appliedAt: new Date(t).toISOString(),
      decideAt: new Date(t + sizer.windowMs).toISOString(),
      before,
    };
  }

  /**
   * Verifications whose window after the change has closed: keep the change if
   * the evidence improved, else roll it back within the guards (allow-list,
   * cooldown, audit) and say why (ADR 0091).
   */
  async function due(): Promise<void> {
    const sizer = deps.sizer;
    if (!sizer) return;
    for (const e of deps.book.entries.values()) {
      const v = e.verification;
      if (v?.phase !== "watching" && v?.phase !== "rollback-waiting") continue;
      const t = deps.now();
      if (t.getTime() < Date.parse(v.decideAt)) continue;
      const { namespace, pod } = e.subject;
      if (!namespace || !pod) continue;
      const [kind, resource] = v.field.split(".").slice(1) as [
        "limits" | "requests",
        "cpu" | "memory",
      ];
      if (v.phase === "watching") {
        const info = await deps.kube.getPod(namespace, pod);
        const ref = info ? refOf(info, v.container) : { namespace, pod, container: v.container };
        const after = await sizer.measures(ref, Date.parse(v.appliedAt), Date.parse(v.decideAt));
        const d = verdict(resource, v.before, after);
        v.after = after;
        v.reason = d.reason;
        e.dirty = true;
        if (d.improved) {
          v.phase = "improved";
          deps.metrics.verifications.inc({ verdict: "improved" });
          deps.log.info({ whisper: e.name, reason: d.reason }, "verified action kept");
          continue;
        }
      }
      // Roll back within the guards the change itself passed.
      const lastApplied = e.actions.filter((r) => r.mode === "applied").at(-1);
      const blocked =
        deps.actions.mode !== "on"
          ? `actions are ${deps.actions.mode}`
          : !deps.actions.namespaces.includes(e.namespace)
            ? `namespace ${e.namespace} is not allow-listed for actions`
            : lastApplied && t.getTime() - Date.parse(lastApplied.time) < deps.actions.cooldownMs
              ? `cooldown: last change at ${lastApplied.time}`
              : undefined;
      if (blocked) {
        if (v.phase !== "rollback-waiting")
          deps.metrics.verifications.inc({ verdict: "rollback-waiting" });
        v.phase = "rollback-waiting";
        v.reason =
          `${v.reason?.replace(/; rollback waits: .*$/, "") ?? ""}; rollback waits: ${blocked}`.slice(
            0,
            2048,
          );
        e.dirty = true;
        continue;
      }
      const info = await deps.kube.getPod(namespace, pod);
      const patches = revertPatches(
        namespace,
        info?.name,
        info?.owner,
        v.container,
        kind,
        resource,
        v.from,
        v.to,
        v.requestFollows ?? false,
      );
      const records = await execute(
        deps.kube,
        { patches },
        { action: "rollback" },
        t,
        ` (did not help: ${v.reason ?? ""})`,
      );
      for (const r of records) {
        e.actions.push(r);
        deps.metrics.actions.inc({ mode: r.mode });
      }
      const ok = records.length > 0 && records.every((r) => r.mode === "applied");
      v.phase = ok ? "rolled-back" : "rollback-failed";
      deps.metrics.verifications.inc({ verdict: v.phase });
      deps.log.info(
        { whisper: e.name, reason: v.reason, phase: v.phase },
        "verified action rolled back",
      );
      deps.forgetPod(`${namespace}/${pod}`);
      e.dirty = true;
      const message = `${v.phase}: ${v.field} ${v.to} → ${v.from}: ${v.reason ?? ""}`;
      await deps.kube
        .createEvent(buildEvent(e, "action", message.slice(0, 1000), info, t))
        .catch((err: unknown) => deps.log.warn({ err: String(err) }, "rollback event not written"));
    }
  }

  return { sizeFor, start, due };
}
