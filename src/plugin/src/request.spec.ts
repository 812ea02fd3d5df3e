import {
  annotationParams,
  parseVariableQuery,
  splitNames,
  toGatewayQuery,
  variablePath,
} from "./request";
import type { KernelQuery } from "./types";

// Stands in for getTemplateSrv().replace(text, scopedVars, 'csv') with two variables.
const vars: Record<string, string> = {
  $namespace: "shop,payments",
  $pod: "checkout-7d9f",
  $all: "$__all",
};
const interpolate = (t: string) => t.replace(/\$\w+/g, (m) => vars[m] ?? m);
const ctx = {
  from: 1000.4,
  to: 61000.6,
  intervalMs: 15000,
  maxDataPoints: 800,
  explore: false,
  interpolate,
};

describe("toGatewayQuery", () => {
  it("maps a signal query with interpolated multi-value filters", () => {
    expect(
      toGatewayQuery(
        {
          refId: "A",
          queryType: "signal",
          signal: "runqueue-delay",
          filters: { namespace: "$namespace", pod: "$pod", node: "" },
        },
        ctx,
      ),
    ).toEqual({
      refId: "A",
      type: "signal",
      signal: "runqueue-delay",
      range: { from: 1000, to: 61001 },
      intervalMs: 15000,
      maxDataPoints: 800,
      filters: { namespace: ["shop", "payments"], pod: ["checkout-7d9f"] },
    });
  });

  it("never asks for a step under the gateway's minimum of 1 s", () => {
    expect(
      toGatewayQuery({ refId: "A", queryType: "signal" }, { ...ctx, intervalMs: 200 })?.intervalMs,
    ).toBe(1000);
  });

  it("treats All and * as no filter", () => {
    const q = toGatewayQuery(
      { refId: "A", queryType: "births", filters: { namespace: "$all", pod: "*" } },
      ctx,
    );
    expect(q?.filters).toBeUndefined();
  });

  it("asks for log lines in Explore unless the query chose a format", () => {
    expect(
      toGatewayQuery({ refId: "W", queryType: "whispers" }, { ...ctx, explore: true })?.format,
    ).toBe("logs");
    expect(toGatewayQuery({ refId: "W", queryType: "whispers" }, ctx)?.format).toBe("table");
    expect(
      toGatewayQuery(
        { refId: "W", queryType: "whispers", format: "table" },
        { ...ctx, explore: true },
      )?.format,
    ).toBe("table");
  });

  it("keeps whisper signal and severity filters as arrays", () => {
    const q = toGatewayQuery(
      {
        refId: "W",
        queryType: "whispers",
        filters: { signal: ["oom-kill"], severity: ["critical", "warning"] },
      },
      ctx,
    );
    expect(q?.filters).toEqual({ signal: ["oom-kill"], severity: ["critical", "warning"] });
  });

  it("sends births timelines and pixie scripts, and nothing for annotations", () => {
    expect(toGatewayQuery({ refId: "B", queryType: "births", timeline: true }, ctx)?.timeline).toBe(
      true,
    );
    expect(toGatewayQuery({ refId: "N", queryType: "annotations" }, ctx)).toBeUndefined();
  });

  it("sends a pixie script by name, or the user's PxL instead when written", () => {
    const pixie = (q: Partial<KernelQuery>) =>
      toGatewayQuery({ refId: "P", queryType: "pixie", ...q }, ctx);
    expect(pixie({})).toMatchObject({ type: "pixie", script: "pod-network" });
    expect(pixie({})).not.toHaveProperty("pxl");
    expect(pixie({ script: "service-http" })?.script).toBe("service-http");
    const own = pixie({ script: "pods", pxl: "px.display($pod)" });
    expect(own?.pxl).toBe("px.display(checkout-7d9f)");
    expect(own).not.toHaveProperty("script");
    expect(pixie({ script: "pods", pxl: "  " })).toMatchObject({ script: "pods" });
  });

  it("expands variables in signal and severity filters, keeping the gateway's values", () => {
    const vars: Record<string, string> = { $sig: "oom-kill,cpu-usage", $all: "$__all" };
    const c = { ...ctx, interpolate: (t: string) => vars[t] ?? t };
    const q = (filters: KernelQuery["filters"]) =>
      toGatewayQuery({ refId: "W", queryType: "whispers", filters }, c)?.filters;
    expect(q({ signal: ["$sig", "tcp-resets"], severity: ["critical"] })).toEqual({
      signal: ["oom-kill", "tcp-resets"],
      severity: ["critical"],
    });
    expect(q({ signal: ["$all"] })).toBeUndefined();
  });

  it("defaults to a cpu-throttling signal query", () => {
    expect(toGatewayQuery({ refId: "A" }, ctx)).toMatchObject({
      type: "signal",
      signal: "cpu-throttling",
    });
  });
});

describe("names, annotations, variables", () => {
  it("splits braces and commas, dropping duplicates and blanks", () => {
    expect(splitNames("{a,b}, b ,,c", (t) => t)).toEqual(["a", "b", "c"]);
    expect(splitNames("  ", (t) => t)).toBeUndefined();
  });

  it("builds the annotations query string", () => {
    const qs = annotationParams(
      {
        refId: "N",
        queryType: "annotations",
        filters: { namespace: "$namespace", severity: ["critical"] },
      },
      10,
      20,
      interpolate,
    );
    expect(qs).toBe("from=10&to=20&namespace=shop&namespace=payments&severity=critical");
  });

  it("parses variable queries written by hand or by the editor", () => {
    expect(parseVariableQuery("namespaces")).toEqual({ refId: "variable", kind: "namespaces" });
    expect(parseVariableQuery("pods?namespace=$namespace")).toEqual({
      refId: "variable",
      kind: "pods",
      namespace: "$namespace",
    });
    expect(variablePath({ refId: "v", kind: "pods", namespace: "$namespace" }, interpolate)).toBe(
      "/api/v1/variables/pods?namespace=shop&namespace=payments",
    );
    expect(variablePath({ refId: "v", kind: "signals" }, interpolate)).toBe(
      "/api/v1/variables/signals",
    );
  });
});
