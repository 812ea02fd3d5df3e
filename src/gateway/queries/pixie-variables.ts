// Dashboard variables from Pixie, through the same ExecuteScript path as the
// pixie query: the shipped scripts `clusters` (px.vizier_id per configured
// cluster) and `pods` (namespaces and pods with processes in the last 15
// minutes). A failing Pixie degrades to an empty list with the error named.
import type { PixieTable } from "../pixie/tables.ts";
import { PIXIE_NOT_CONFIGURED } from "../sources/pixie.ts";
import { SourceError } from "../sources/source.ts";
import type { GatewayContext } from "./context.ts";

export const PIXIE_VARIABLE_WINDOW_MS = 15 * 60_000;

type Answer = { values: string[]; errors?: { source: string; message: string }[] };

function column(table: PixieTable | undefined, name: string) {
  const i = table?.columns.findIndex((c) => c.name === name) ?? -1;
  return (i >= 0 ? (table?.values[i] ?? []) : [])
    .map((v) => (v === null ? "" : String(v)))
    .filter(Boolean);
}

export async function pixieVariable(
  ctx: GatewayContext,
  kind: "pixie-clusters" | "pixie-namespaces" | "pixie-pods",
  q: { namespace?: string[]; cluster?: string },
): Promise<Answer> {
  const pixie = ctx.sources.pixie;
  const now = Date.now();
  const range = {
    fromMs: now - PIXIE_VARIABLE_WINDOW_MS,
    toMs: now,
    stepMs: PIXIE_VARIABLE_WINDOW_MS,
  };
  const values = new Set<string>();
  const errors: { source: string; message: string }[] = [];
  if (!pixie.clusterIds.length)
    return { values: [], errors: [{ source: "pixie", message: PIXIE_NOT_CONFIGURED }] };
  const clusters =
    kind === "pixie-clusters" ? pixie.clusterIds : [q.cluster ?? pixie.clusterIds[0] ?? ""];
  await Promise.all(
    clusters.map(async (cluster) => {
      try {
        const r = await pixie.run(
          { script: kind === "pixie-clusters" ? "clusters" : "pods", cluster },
          range,
        );
        const t = r.tables[0];
        if (kind === "pixie-clusters") {
          for (const v of column(t, "cluster_id")) values.add(v);
        } else if (kind === "pixie-namespaces") {
          for (const v of column(t, "namespace")) values.add(v);
        } else {
          const nsCol = column(t, "namespace");
          column(t, "pod").forEach((pod, i) => {
            if (!q.namespace?.length || q.namespace.includes(nsCol[i] ?? "")) values.add(pod);
          });
        }
      } catch (err) {
        errors.push({
          source: err instanceof SourceError ? err.source : "pixie",
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }),
  );
  return { values: [...values].sort(), ...(errors.length ? { errors } : {}) };
}
