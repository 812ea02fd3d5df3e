// Marks a route as needing no token in the OpenAPI document when the
// configuration lists its path as open (the auth hook decides at run time).
import type { GatewayContext } from "../queries/context.ts";
import { ErrorSchema } from "../schemas.ts";

export function openIf(ctx: GatewayContext, path: string) {
  return ctx.config.openPaths.includes(path) || ctx.config.tokens.length === 0
    ? { security: [] }
    : {};
}

/** 401 as documented for every protected route. */
export const unauthorized = { 401: ErrorSchema };

/** Node's HTTP parser refuses request lines/headers over 16 KiB before any route runs. */
export const headersTooLarge = { 431: ErrorSchema };
