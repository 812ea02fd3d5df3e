// The HTTP layer under every Kubernetes call the operator makes (ADR 0077):
// each request has a deadline (the client library's own has none, so a hung
// call would keep a leader leading), carries the replica's identity in its
// User-Agent (the API server's audit log names who wrote), and may be fenced:
// once a fence signal aborts (leadership lost), requests in flight are
// aborted and no new one is sent.
import { request } from "node:https";
import { request as plainRequest } from "node:http";
import * as k8s from "@kubernetes/client-node";

export interface KubeHttpOptions {
  /** Deadline of one request, connection to last byte. */
  timeoutMs: number;
  userAgent: string;
  /** When set and aborted, requests fail at once without being sent. */
  fence?: () => AbortSignal | undefined;
}

/** The error a fenced request fails with; never retried by the writers. */
export class Fenced extends Error {
  constructor() {
    super("not the leader: request not sent");
  }
}

function send(ctx: k8s.RequestContext, opts: KubeHttpOptions): Promise<k8s.ResponseContext> {
  const fence = opts.fence?.();
  if (fence?.aborted) return Promise.reject(new Fenced());
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = fence ? AbortSignal.any([fence, deadline]) : deadline;
  const url = new URL(ctx.getUrl());
  const body = ctx.getBody() as string | Buffer | undefined;
  const headers: Record<string, string> = { ...ctx.getHeaders(), "User-Agent": opts.userAgent };
  if (body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(body));
  const make = url.protocol === "https:" ? request : plainRequest;
  return new Promise((resolve, reject) => {
    const req = make(
      url,
      {
        method: ctx.getHttpMethod(),
        headers,
        agent: ctx.getAgent(),
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const data = Buffer.concat(chunks);
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
          resolve(
            new k8s.ResponseContext(res.statusCode ?? 0, out, {
              text: () => Promise.resolve(data.toString("utf8")),
              binary: () => Promise.resolve(data),
            }),
          );
        });
      },
    );
    req.on("error", (err) => {
      // A fence that fired mid-request is reported as such, not as a network error.
      reject(fence?.aborted ? new Fenced() : err);
    });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** An HttpLibrary for @kubernetes/client-node with deadlines, identity and fencing. */
export function kubeHttp(opts: KubeHttpOptions): k8s.HttpLibrary {
  return { send: (ctx) => new k8s.Observable(send(ctx, opts)) };
}

/** An API client of `type` that sends every request through `http`. */
export function apiClient<T>(
  kc: k8s.KubeConfig,
  type: new (config: k8s.Configuration) => T,
  http: k8s.HttpLibrary,
): T {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error("kubeconfig: no current cluster");
  return new type(
    k8s.createConfiguration({
      baseServer: new k8s.ServerConfiguration(server, {}),
      authMethods: { default: kc },
      httpApi: http,
    }),
  );
}
