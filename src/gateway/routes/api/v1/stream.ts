// GET /api/v1/stream: Server-Sent Events for live panels. `whisper` events
// carry KernelWhisper changes from the informer (added/modified/deleted),
// `observer` events the observers' own events (throttle episodes, OOM kills…)
// relayed from their /events streams. A comment line every 15 s keeps proxies
// from closing an idle stream.
import { Type } from "@sinclair/typebox";
import { accepts } from "../../../filters.ts";
import type { GatewayContext } from "../../../queries/context.ts";
import { ErrorSchema } from "../../../schemas.ts";
import type { App } from "../../../server.ts";
import { headersTooLarge, openIf, unauthorized } from "../../security.ts";

const names = Type.Optional(
  Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 100 }),
);
const Query = Type.Object(
  {
    namespace: names,
    pod: names,
    node: names,
    types: Type.Optional(
      Type.Array(Type.Union([Type.Literal("whisper"), Type.Literal("observer")]), {
        maxItems: 2,
        description: "Event types to send (default both).",
      }),
    ),
  },
  { additionalProperties: false },
);

export const HEARTBEAT_MS = 15_000;

export default function stream(app: App, ctx: GatewayContext) {
  app.get(
    "/api/v1/stream",
    {
      schema: {
        summary: "Live whisper changes and observer events (text/event-stream)",
        ...openIf(ctx, "/api/v1/stream"),
        querystring: Query,
        response: {
          200: {
            description: "SSE: `event: whisper|observer`, `id: …`, `data: <JSON>`.",
            content: { "text/event-stream": { schema: Type.String() } },
          },
          400: ErrorSchema,
          ...unauthorized,
          ...headersTooLarge,
        },
      },
    },
    (req, reply) => {
      const q = req.query;
      const want = new Set(q.types?.length ? q.types : ["whisper", "observer"]);
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      const send = (event: string, id: string, data: unknown) =>
        res.write(`event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
      res.write("retry: 2000\n: connected\n\n");

      const stops: (() => unknown)[] = [];
      if (want.has("whisper")) {
        stops.push(
          ctx.sources.whispers.onChange((change, w) => {
            const s = w.spec.subject;
            if (
              !accepts(q.namespace, s.namespace ?? w.metadata.namespace) ||
              !accepts(q.pod, s.pod) ||
              !accepts(q.node, s.node)
            )
              return;
            send("whisper", `kw-${w.metadata.resourceVersion ?? ""}`, { change, whisper: w });
          }),
        );
      }
      if (want.has("observer") && ctx.sources.events) {
        stops.push(
          ctx.sources.events.subscribe((e) => {
            if (
              !accepts(q.namespace, e.workload.namespace) ||
              !accepts(q.pod, e.workload.pod) ||
              !accepts(q.node, e.node)
            )
              return;
            send("observer", `${e.node}-${e.seq}`, e);
          }),
        );
      }
      const beat = setInterval(() => res.write(": ping\n\n"), HEARTBEAT_MS);
      ctx.telemetry.streamClients.inc();
      res.on("close", () => {
        clearInterval(beat);
        for (const stop of stops) stop();
        ctx.telemetry.streamClients.dec();
      });
    },
  );
}
