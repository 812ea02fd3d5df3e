// The Pixie slot: the interface is wired through the query API so the Grafana
// plugin can offer the query type today, but nothing runs PxL until the Pixie
// issue fills this module. Until then every pixie query answers 501 with a
// message that says so, and /readyz lists the source as disabled.
import { SourceError, type PixieSource } from "./source.ts";

export const PIXIE_NOT_CONFIGURED =
  "Pixie not configured: this gateway has no Pixie source (it lands with the Pixie integration issue)";

export function createPixieSource(): PixieSource {
  const name = "pixie";
  return {
    name,
    status: () => ({ name, state: "disabled", message: PIXIE_NOT_CONFIGURED }),
    stop: () => Promise.resolve(),
    run: () => Promise.reject(new SourceError(name, PIXIE_NOT_CONFIGURED, 501)),
  };
}
