// GET /api/v1/variables/{kind}: values for dashboard variables, from the
// informer caches and the signal source's series labels. A failing signal
// source degrades the answer to the cached names and says so in `errors`.
import { Type } from "@sinclair/typebox";
import { accepts } from "../../../filters.ts";
import type { GatewayContext } from "../../../queries/context.ts";
import { birthTuples, whisperTuples } from "../../../queries/index.ts";
import { ErrorSchema } from "../../../schemas.ts";
import type { App } from "../../../server.ts";
import { PLOT_SIGNALS } from "../../../../shared/signals/catalogue.ts";
import type { Filters } from "../../../sources/source.ts";
import { pixieVariable } from "../../../queries/pixie-variables.ts";
import { headersTooLarge, openIf, unauthorized } from "../../security.ts";

const PIXIE_KINDS = ["pixie-clusters", "pixie-namespaces", "pixie-pods"] as const;
const KINDS = ["namespaces", "pods", "containers", "nodes", "signals", ...PIXIE_KINDS] as const;
type Kind = (typeof KINDS)[number];
type PixieKind = (typeof PIXIE_KINDS)[number];
const LABEL: Record<
  Exclude<Kind, "signals" | PixieKind>,
  "namespace" | "pod" | "container" | "node"
> = {
  namespaces: "namespace",
  pods: "pod",
  containers: "container",
  nodes: "node",
};

const names = Type.Optional(
  Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 100 }),
);
const Query = Type.Object(
  {
    namespace: names,
    pod: names,
    container: names,
    node: names,
    cluster: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "pixie-* kinds: the Pixie cluster id.",
      }),
    ),
  },
  { additionalProperties: false },
);
const Body = Type.Object(
  {
    values: Type.Array(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object(
          { source: Type.String(), message: Type.String() },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

export default function variables(app: App, ctx: GatewayContext) {
  app.get(
    "/api/v1/variables/:kind",
    {
      schema: {
        summary: "Values for a dashboard variable",
        ...openIf(ctx, "/api/v1/variables"),
        params: Type.Object(
          { kind: Type.Union(KINDS.map((k) => Type.Literal(k))) },
          { additionalProperties: false },
        ),
        querystring: Query,
        response: { 200: Body, 400: ErrorSchema, ...unauthorized, ...headersTooLarge },
      },
    },
    async (req) => {
      const kind = req.params.kind;
      if (kind === "signals") return { values: [...PLOT_SIGNALS] };
      if (kind === "pixie-clusters" || kind === "pixie-namespaces" || kind === "pixie-pods") {
        return pixieVariable(ctx, kind, req.query);
      }
      const label = LABEL[kind];
      const q = req.query;
      const f: Filters = {
        namespace: q.namespace,
        pod: q.pod,
        container: q.container,
        node: q.node,
      };
      const values = new Set<string>();
      const add = (v: string | undefined) => v && values.add(v);
      const keys = ["namespace", "pod", "container", "node"] as const;
      const tuples = [
        ...whisperTuples(ctx.sources.whispers.list()),
        ...birthTuples(ctx.sources.births.list()),
      ];
      for (const t of tuples) {
        if (keys.every((k) => accepts(f[k], t[k]))) add(t[label]);
      }
      for (const v of ctx.sources.otlp.labelValues(label, f)) add(v);
      const errors: { source: string; message: string }[] = [];
      if (ctx.sources.signals) {
        try {
          for (const v of await ctx.sources.signals.labelValues(label, f)) add(v);
        } catch (err) {
          errors.push({
            source: ctx.sources.signals.name,
            message: err instanceof Error ? err.message : String(err),
          });
        }
      }
      return { values: [...values].sort(), ...(errors.length ? { errors } : {}) };
    },
  );
}
