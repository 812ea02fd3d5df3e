// Bearer-token authentication as a fastify onRequest hook. Tokens compare in
// constant time (hashing first makes lengths equal); paths listed as open
// (by default /healthz, /readyz, /metrics, for probes and scrapers) skip it.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

const digest = (s: string) => createHash("sha256").update(s).digest();

export function bearerAuth(tokens: string[], openPaths: string[]) {
  const accepted = tokens.map(digest);
  const open = new Set(openPaths);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (accepted.length === 0) return;
    const path = req.url.split("?")[0] ?? "";
    if (open.has(path)) return;
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
    const given = m?.[1] ? digest(m[1]) : undefined;
    if (given && accepted.some((t) => timingSafeEqual(t, given))) return;
    await reply
      .code(401)
      .header("www-authenticate", 'Bearer realm="kernel-gossip"')
      .send({
        statusCode: 401,
        error: "Unauthorized",
        message: m
          ? "unknown bearer token"
          : "missing bearer token (Authorization: Bearer <token>)",
      });
  };
}
