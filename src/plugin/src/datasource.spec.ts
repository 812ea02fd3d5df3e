// The data source's request/response mapping. Grafana's backendSrv cannot run
// here, so a recording stand-in answers: these tests check the URLs and bodies
// the plugin sends and how it turns answers and failures into frames and
// messages. The real gateway is exercised by the browser harness (harness/).
import {
  CoreApp,
  dateTime,
  type DataQueryRequest,
  type DataSourceInstanceSettings,
} from "@grafana/data";
import {
  setBackendSrv,
  setTemplateSrv,
  type BackendSrv,
  type BackendSrvRequest,
  type TemplateSrv,
} from "@grafana/runtime";
import { of, throwError } from "rxjs";
import { DataSource } from "./datasource";
import type { KernelOptions, KernelQuery } from "./types";

type Answer =
  | { status: number; data: unknown }
  | { fail: { status?: number; statusText?: string; data?: unknown } };
let calls: BackendSrvRequest[] = [];
let answers: Record<string, Answer> = {};

beforeEach(() => {
  calls = [];
  answers = {};
  setBackendSrv({
    fetch: (req: BackendSrvRequest) => {
      calls.push(req);
      const path = req.url.replace("/api/datasources/proxy/uid/kg/gateway", "").split("?")[0];
      const a = answers[path];
      if (!a) {
        return throwError(() => ({ status: 502, statusText: "Bad Gateway", data: {} }));
      }
      return "fail" in a
        ? throwError(() => a.fail)
        : of({ status: a.status, data: a.data, ok: true });
    },
  } as unknown as BackendSrv);
  setTemplateSrv({
    replace: (t: string) => t.replace("$namespace", "shop,payments"),
  } as unknown as TemplateSrv);
});

const settings = (jsonData: KernelOptions = { gatewayUrl: "http://gw:8080" }) =>
  ({
    id: 1,
    uid: "kg",
    type: "kernelgossip-kernel-datasource",
    name: "kg",
    url: "/api/datasources/proxy/uid/kg",
    jsonData,
    meta: {},
  }) as unknown as DataSourceInstanceSettings<KernelOptions>;

const request = (targets: KernelQuery[], app: string = CoreApp.Dashboard) =>
  ({
    targets,
    app,
    requestId: "r1",
    intervalMs: 15000,
    maxDataPoints: 500,
    scopedVars: {},
    range: {
      from: dateTime(1_000_000),
      to: dateTime(1_900_000),
      raw: { from: "now-15m", to: "now" },
    },
  }) as unknown as DataQueryRequest<KernelQuery>;

const frame = (refId: string) => ({
  refId,
  name: "whispers",
  meta: { type: "log-lines", preferredVisualisationType: "logs" },
  fields: [
    { name: "timestamp", type: "time", config: {}, values: [1_500_000] },
    {
      name: "body",
      type: "string",
      config: {},
      values: ["cpu-throttling on shop/checkout: ratio 0.62"],
    },
    { name: "labels", type: "other", config: {}, values: [{ namespace: "shop" }] },
  ],
  length: 1,
});

describe("query", () => {
  it("tells Grafana its smallest interval: the gateway's 1 s step", () => {
    expect(new DataSource(settings()).interval).toBe("1s");
  });

  it("sends one batch through the proxy route and keeps frame meta", async () => {
    answers["/api/v1/query"] = {
      status: 200,
      data: { results: { A: { status: 200, frames: [frame("A")] } } },
    };
    const ds = new DataSource(settings());
    const res = await ds.query(
      request(
        [{ refId: "A", queryType: "whispers", filters: { namespace: "$namespace" } }],
        CoreApp.Explore,
      ),
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "/api/datasources/proxy/uid/kg/gateway/api/v1/query",
    });
    expect(calls[0].data).toEqual({
      queries: [
        {
          refId: "A",
          type: "whispers",
          format: "logs",
          range: { from: 1_000_000, to: 1_900_000 },
          intervalMs: 15000,
          maxDataPoints: 500,
          filters: { namespace: ["shop", "payments"] },
        },
      ],
    });
    expect(res.errors).toBeUndefined();
    const f = res.data[0];
    expect(f.refId).toBe("A");
    expect(f.meta).toEqual({ type: "log-lines", preferredVisualisationType: "logs" });
    expect(f.fields.map((x: { name: string }) => x.name)).toEqual(["timestamp", "body", "labels"]);
    expect(f.fields[1].values[0]).toContain("ratio 0.62");
  });

  it("reports a failing source on its own query only", async () => {
    answers["/api/v1/query"] = {
      status: 200,
      data: {
        results: {
          A: { status: 200, frames: [frame("A")] },
          S: { status: 503, frames: [], error: "no signal source configured", source: "signals" },
        },
      },
    };
    const res = await new DataSource(settings()).query(
      request([
        { refId: "A", queryType: "whispers" },
        { refId: "S", queryType: "signal", signal: "cpu-usage" },
      ]),
    );
    expect(res.data).toHaveLength(1);
    expect(res.errors).toEqual([
      { refId: "S", status: 503, message: "no signal source configured (source signals)" },
    ]);
  });

  it("says the token was refused on 401 and names the field on 400", async () => {
    answers["/api/v1/query"] = {
      fail: {
        status: 401,
        data: { statusCode: 401, error: "Unauthorized", message: "unknown bearer token" },
      },
    };
    const ds = new DataSource(settings());
    let res = await ds.query(request([{ refId: "A", queryType: "births" }]));
    expect(res.errors?.[0].message).toMatch(/refused the API token \(401: unknown bearer token\)/);
    answers["/api/v1/query"] = {
      fail: {
        status: 400,
        data: {
          statusCode: 400,
          error: "Bad Request",
          message: "queries[0].range: too long",
          field: "queries[0].range",
        },
      },
    };
    res = await ds.query(request([{ refId: "A", queryType: "births" }]));
    expect(res.errors?.[0].message).toBe(
      "The gateway answered 400 Bad Request: queries[0].range: too long (field queries[0].range)",
    );
  });

  it("turns annotation queries into time-range annotation frames", async () => {
    answers["/api/v1/annotations"] = {
      status: 200,
      data: {
        annotations: [
          {
            id: "u1",
            time: 1_100_000,
            timeEnd: 1_200_000,
            title: "warning: cpu-throttling",
            text: "t",
            tags: ["a"],
          },
        ],
      },
    };
    const res = await new DataSource(settings()).query(
      request([{ refId: "Anno", queryType: "annotations", filters: { severity: ["warning"] } }]),
    );
    expect(calls[0].url).toBe(
      "/api/datasources/proxy/uid/kg/gateway/api/v1/annotations?from=1000000&to=1900000&severity=warning",
    );
    const f = res.data[0];
    expect(f.fields.map((x: { name: string }) => x.name)).toEqual([
      "time",
      "timeEnd",
      "title",
      "text",
      "tags",
      "id",
    ]);
    expect(f.fields[4].values[0]).toEqual(["a"]);
  });
});

describe("metricFindQuery", () => {
  it("lists variable values, narrowed by interpolated filters", async () => {
    answers["/api/v1/variables/pods"] = { status: 200, data: { values: ["a", "b"] } };
    const values = await new DataSource(settings()).metricFindQuery("pods?namespace=$namespace");
    expect(calls[0].url).toBe(
      "/api/datasources/proxy/uid/kg/gateway/api/v1/variables/pods?namespace=shop&namespace=payments",
    );
    expect(values).toEqual([
      { text: "a", value: "a" },
      { text: "b", value: "b" },
    ]);
  });
});

describe("testDatasource", () => {
  const ready = {
    ready: true,
    sources: [
      { name: "whispers", state: "ready" },
      { name: "births", state: "ready" },
    ],
  };

  it("needs a gateway URL", async () => {
    expect(await new DataSource(settings({})).testDatasource()).toEqual({
      status: "error",
      message: 'No gateway URL: set "Gateway URL" in the data source settings.',
    });
  });

  it("says when the gateway cannot be reached", async () => {
    const r = await new DataSource(settings()).testDatasource();
    expect(r.status).toBe("error");
    expect(r.message).toBe(
      "Cannot reach the gateway at http://gw:8080 (502 Bad Gateway). Check the gateway URL and that Grafana's server can reach it.",
    );
  });

  it("says when the token is missing", async () => {
    answers["/healthz"] = { status: 200, data: { status: "ok" } };
    answers["/api/v1/variables/signals"] = {
      fail: {
        status: 401,
        data: {
          statusCode: 401,
          error: "Unauthorized",
          message: "missing bearer token (Authorization: Bearer <token>)",
        },
      },
    };
    const r = await new DataSource(settings()).testDatasource();
    expect(r.message).toMatch(/^The gateway at http:\/\/gw:8080 wants an API token/);
  });

  it("names the sources that are not ready", async () => {
    answers["/healthz"] = { status: 200, data: { status: "ok" } };
    answers["/api/v1/variables/signals"] = { status: 200, data: { values: [] } };
    answers["/readyz"] = {
      fail: {
        status: 503,
        data: {
          ready: false,
          sources: [
            { name: "whispers", state: "starting", message: "listing" },
            { name: "births", state: "ready" },
          ],
        },
      },
    };
    expect(await new DataSource(settings()).testDatasource()).toEqual({
      status: "error",
      message:
        "The gateway is up and accepts the token, but is not ready: whispers starting (listing)",
    });
  });

  it("succeeds and lists degraded or disabled sources", async () => {
    answers["/healthz"] = { status: 200, data: { status: "ok" } };
    answers["/api/v1/variables/signals"] = { status: 200, data: { values: [] } };
    answers["/readyz"] = { status: 200, data: ready };
    expect(await new DataSource(settings()).testDatasource()).toEqual({
      status: "success",
      message: "Gateway ready: whispers, births",
    });
    answers["/readyz"] = {
      status: 200,
      data: {
        ready: true,
        sources: [
          ...ready.sources,
          { name: "signals", state: "disabled", message: "no signal source configured" },
        ],
      },
    };
    expect((await new DataSource(settings()).testDatasource()).message).toBe(
      "Gateway ready (2/3 sources ready): signals disabled (no signal source configured)",
    );
  });
});
