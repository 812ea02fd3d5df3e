// Where the CLI finds kernel-gossip: flags, then environment variables, then the
// state file a running `./kg run` writes (src/local/state.ts).
import { readState, statePath } from "../local/state.ts";
import { envReader } from "../shared/config/env.ts";
import { str, type Args } from "./args.ts";

export interface Endpoints {
  gatewayUrl?: string;
  gatewayToken?: string;
  observerUrl?: string;
  source: string;
}

export function endpoints(a: Args): Endpoints {
  const state = readState();
  const env = envReader();
  // A variable that is set wins over the state file even when empty: an empty
  // KG_OBSERVER_URL means "no observer" (watch then reads the gateway's stream).
  const pick = (flag: string, name: string, fromState: string | undefined) => {
    const flagged = str(a, flag);
    if (flagged !== undefined) return flagged;
    if (process.env[name] === undefined) return fromState;
    return (name.endsWith("_TOKEN") ? env.secret(name) : env.url(name)) || undefined;
  };
  const e: Endpoints = {
    gatewayUrl: pick("gateway", "KG_GATEWAY_URL", state?.gatewayUrl),
    gatewayToken: pick("token", "KG_GATEWAY_TOKEN", state?.gatewayToken),
    observerUrl: pick("observer", "KG_OBSERVER_URL", state?.observerUrl),
    source: state ? statePath() : "flags/environment",
  };
  return e;
}

export function needGateway(e: Endpoints): { url: string; token: string | undefined } {
  if (!e.gatewayUrl) {
    throw new Error(
      "no gateway: start the local stack with `./kg run`, or pass --gateway URL --token TOKEN " +
        "(or set KG_GATEWAY_URL and KG_GATEWAY_TOKEN)",
    );
  }
  return { url: e.gatewayUrl.replace(/\/$/, ""), token: e.gatewayToken };
}
