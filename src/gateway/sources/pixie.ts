// The Pixie source (pull path): runs a shipped PxL script by name — or, only
// when KG_PIXIE_ALLOW_USER_SCRIPTS=true, the query's own PxL — through Pixie's
// ExecuteScript on a configured cluster. The query's range reaches the script
// as exec_funcs arguments (start_time, end_time, window_ns in Unix
// nanoseconds); user scripts get the same numbers substituted for the tokens
// __time_from, __time_to and __interval_ns. Without KG_PIXIE_ADDRESS every
// pixie query answers 501 and /readyz lists the source as disabled.
import { loadManifest, readScript, type ScriptDef } from "../../pixie/manifest.ts";
import type { PixieConfig } from "../config.ts";
import { createVizierClient } from "../pixie/client.ts";
import type { ExecuteScriptRequest } from "../pixie/proto.ts";
import { SourceError, type PixieSource, type RangeRequest, type SourceStatus } from "./source.ts";

export const PIXIE_NOT_CONFIGURED =
  "Pixie not configured: set KG_PIXIE_ADDRESS, KG_PIXIE_API_KEY and KG_PIXIE_CLUSTER_ID";

const ns = (ms: number) => (BigInt(Math.round(ms)) * 1_000_000n).toString();

/** The ExecuteScript arguments of a range (what the manifest's `args` name). */
export function rangeArgs(range: RangeRequest): Record<string, string> {
  return {
    start_time: ns(range.fromMs),
    end_time: ns(range.toMs),
    window_ns: ns(range.stepMs),
  };
}

/** User PxL: the range as integer literals in place of the documented tokens. */
export function substituteRange(pxl: string, range: RangeRequest): string {
  const a = rangeArgs(range);
  return pxl
    .replace(/\b__time_from\b/g, a.start_time ?? "")
    .replace(/\b__time_to\b/g, a.end_time ?? "")
    .replace(/\b__interval_ns\b/g, a.window_ns ?? "");
}

export function namedRequest(
  def: ScriptDef,
  cluster: string,
  range: RangeRequest,
): ExecuteScriptRequest {
  const args = rangeArgs(range);
  return {
    query_str: readScript(def.file),
    cluster_id: cluster,
    exec_funcs: [
      {
        func_name: def.function,
        arg_values: def.args.map((name) => ({ name, value: args[name] ?? "" })),
        output_table_prefix: def.function,
      },
    ],
    query_name: `kernel-gossip/${def.name}`,
  };
}

export function createPixieSource(cfg: PixieConfig | undefined): PixieSource {
  const name = "pixie";
  const scripts = loadManifest();
  if (!cfg) {
    return {
      name,
      scripts,
      clusterIds: [],
      status: () => ({ name, state: "disabled", message: PIXIE_NOT_CONFIGURED }),
      stop: () => Promise.resolve(),
      run: () => Promise.reject(new SourceError(name, PIXIE_NOT_CONFIGURED, 501)),
    };
  }
  const client = createVizierClient(cfg);
  let last: SourceStatus = { name, state: "ready", message: `${cfg.address}, no script run yet` };

  function request(req: Parameters<PixieSource["run"]>[0], range: RangeRequest) {
    const cluster = req.cluster ?? cfg?.clusterIds[0] ?? "";
    if (!cfg?.clusterIds.includes(cluster)) {
      throw new SourceError(
        name,
        `cluster "${cluster}" is not configured (KG_PIXIE_CLUSTER_ID)`,
        400,
      );
    }
    if (req.pxl !== undefined) {
      if (!cfg.allowUserScripts) {
        throw new SourceError(
          name,
          "user PxL scripts are off: run a shipped script by name, or set KG_PIXIE_ALLOW_USER_SCRIPTS=true",
          403,
        );
      }
      return {
        query_str: substituteRange(req.pxl, range),
        cluster_id: cluster,
        query_name: "kernel-gossip/user-script",
      };
    }
    const def = scripts.get(req.script ?? "");
    if (!def) {
      throw new SourceError(
        name,
        `no shipped script "${req.script ?? ""}"; known: ${[...scripts.keys()].join(", ")}`,
        404,
      );
    }
    return namedRequest(def, cluster, range);
  }

  return {
    name,
    scripts,
    clusterIds: cfg.clusterIds,
    status: () => last,
    stop: () => {
      client.close();
      return Promise.resolve();
    },
    async run(req, range) {
      const r = request(req, range);
      try {
        const result = await client.execute(r);
        last = { name, state: "ready", message: `${cfg.address}: last script ran` };
        return result;
      } catch (err) {
        // Script errors are the query's fault; transport and auth failures are the source's.
        const status = err instanceof SourceError ? err.status : 502;
        if (status !== 400) {
          last = {
            name,
            state: "degraded",
            message: err instanceof Error ? err.message : String(err),
          };
        }
        throw err;
      }
    },
  };
}
