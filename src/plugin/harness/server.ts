// The harness server (NOT Grafana): serves the harness page, the built plugin
// (dist/) and a stand-in for Grafana's data-source proxy. The proxy implements
// the routes of dist/plugin.json the way Grafana documents them: a request to
// /api/datasources/proxy/uid/<uid>/<route.path>/<rest> goes to <route.url>/<rest>
// with the route's headers, after {{ .JsonData.x }} / {{ .SecureJsonData.y }}
// are filled from the saved settings. Secure settings never go back to the page.
// With `renderer`, it also serves the dashboard renderer page (ADR 0080): the
// dashboards, the provisioned data sources (without secrets) and the proxy for
// each of them — the plugin's through its routes, Prometheus straight to its URL.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize } from "node:path";

interface Route {
  path: string;
  url: string;
  method?: string;
  headers?: { name: string; content: string }[];
}

export interface PluginJson {
  id: string;
  type: string;
  routes?: Route[];
}

/** A data source as Grafana's provisioning file describes it, `${VAR}`s already expanded. */
export interface ProvisionedDatasource {
  uid: string;
  type: string;
  name: string;
  url: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

export interface RendererOptions {
  pageScript: string;
  dashboardsDir: string;
  datasources: ProvisionedDatasource[];
}

export interface HarnessServer {
  url: string;
  uid: string;
  /** Every request the proxy sent upstream: method, URL, and whether it carried a bearer token. */
  proxied: { method: string; url: string; status: number; bearer: boolean }[];
  close(): Promise<void>;
}

const INTER_DIR = "/usr/share/fonts/opentype/inter";

const TYPES: Record<string, string> = {
  ".otf": "font/otf",
  ".js": "text/javascript",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".map": "application/json",
  ".md": "text/markdown",
};

// @grafana/ui fetches its icons from Grafana's public/ folder; the package ships them.
const UI_IMG = join(
  dirname(createRequire(import.meta.url).resolve("@grafana/ui/package.json")),
  "dist/public/img",
);

async function file(res: ServerResponse, dir: string, rel: string) {
  const clean = normalize(rel);
  if (clean.startsWith("..")) return send(res, 403, "text/plain", "forbidden");
  try {
    const data = await readFile(join(dir, clean));
    return send(res, 200, TYPES[extname(clean)] ?? "application/octet-stream", data);
  } catch {
    return send(res, 404, "text/plain", "not found");
  }
}

// Grafana's page carries uPlot's stylesheet; without it the Sparkline's canvas is not laid out.
const UPLOT_CSS = readFileSync(
  createRequire(import.meta.url).resolve("uplot/dist/uPlot.min.css"),
  "utf8",
);

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>kernel-gossip plugin harness (not Grafana)</title>
<style>
  body { margin: 0; padding: 16px 24px; }
  .harness-banner { padding: 8px 12px; border: 1px dashed #888; font: 13px sans-serif; opacity: .85; }
  .harness-section { padding: 12px 16px; border: 1px solid rgba(204,204,220,.15); border-radius: 4px; }
  .harness-frame h4 { font: 500 13px sans-serif; margin: 12px 0 6px; }
  .harness-sparkline { position: relative; height: 90px; overflow: hidden; margin-bottom: 8px; }
  ${UPLOT_CSS}
  .harness-logs { font: 12px/1.5 monospace; white-space: pre-wrap; margin: 0; }
</style></head>
<body><div id="root"></div><script src="/harness.js"></script></body></html>`;

// The stylesheets @grafana/ui imports (the page bundle drops CSS imports): uPlot's for
// the graphs, react-data-grid's for TableNG. The rest comes from GlobalStyles and emotion.
const GRID_CSS = readFileSync(
  createRequire(createRequire(import.meta.url).resolve("@grafana/ui/package.json")).resolve(
    "@grafana/react-data-grid/lib/styles.css",
  ),
  "utf8",
);
const DASHBOARD_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>kernel-gossip dashboard renderer (not Grafana)</title>
<style>body { margin: 0; }\n${UPLOT_CSS}\n${GRID_CSS}</style></head>
<body><div id="root"></div><script src="/dashboard.js"></script></body></html>`;

/** Fills {{ .JsonData.x }} and {{ .SecureJsonData.y }} as Grafana's route templates do. */
export function interpolateRoute(
  text: string,
  jsonData: Record<string, unknown>,
  secure: Record<string, string>,
): string {
  return text.replace(
    /\{\{\s*\.(JsonData|SecureJsonData)\.(\w+)\s*\}\}/g,
    (_m, scope, key: string) => {
      const v = scope === "JsonData" ? jsonData[key] : secure[key];
      return typeof v === "string" || typeof v === "number" ? String(v) : "";
    },
  );
}

const body = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

/** Answers and returns the response (so handlers can `return send(...)`). */
function send(
  res: ServerResponse,
  status: number,
  type: string,
  data: string | Buffer,
): ServerResponse {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  return res.end(data);
}

export async function startHarnessServer(opts: {
  distDir: string;
  pageScript: string;
  variables?: Record<string, string | string[]>;
  renderer?: RendererOptions;
}): Promise<HarnessServer> {
  const pluginJson = JSON.parse(
    await readFile(join(opts.distDir, "plugin.json"), "utf8"),
  ) as PluginJson;
  const uid = "kg-harness";
  let jsonData: Record<string, unknown> = {};
  const secure: Record<string, string> = {};
  const proxied: HarnessServer["proxied"] = [];
  const proxyPrefix = `/api/datasources/proxy/uid/${uid}/`;

  const provisioned = new Map((opts.renderer?.datasources ?? []).map((d) => [d.uid, d]));

  /** Grafana's proxy for a provisioned data source: the plugin's routes, or straight to its URL. */
  async function proxyProvisioned(
    req: IncomingMessage,
    res: ServerResponse,
    ds: ProvisionedDatasource,
    rest: string,
  ) {
    if (ds.type === pluginJson.id) return proxy(req, res, rest, ds.jsonData, ds.secureJsonData);
    const target = `${ds.url.replace(/\/$/, "")}/${rest}`;
    return forward(req, res, target, {});
  }

  async function proxy(
    req: IncomingMessage,
    res: ServerResponse,
    rest: string,
    json: Record<string, unknown> = jsonData,
    sec: Record<string, string> = secure,
  ) {
    const route = (pluginJson.routes ?? []).find(
      (r) => rest === r.path || rest.startsWith(`${r.path}/`) || rest.startsWith(`${r.path}?`),
    );
    if (!route) return send(res, 404, "application/json", '{"message":"no plugin route"}');
    if (route.method && route.method !== "*" && route.method !== req.method) {
      return send(res, 405, "application/json", '{"message":"route method not allowed"}');
    }
    const base = interpolateRoute(route.url, json, sec).replace(/\/$/, "");
    const target = `${base}${rest.slice(route.path.length)}`;
    const headers: Record<string, string> = {};
    for (const h of route.headers ?? []) headers[h.name] = interpolateRoute(h.content, json, sec);
    return forward(req, res, target, headers);
  }

  async function forward(
    req: IncomingMessage,
    res: ServerResponse,
    target: string,
    headers: Record<string, string>,
  ) {
    if (req.headers["content-type"]) headers["content-type"] = req.headers["content-type"];
    const payload = req.method === "GET" || req.method === "HEAD" ? undefined : await body(req);
    try {
      const up = await fetch(target, {
        method: req.method ?? "GET",
        headers,
        ...(payload ? { body: new Uint8Array(payload) } : {}),
      });
      const buf = Buffer.from(await up.arrayBuffer());
      proxied.push({
        method: req.method ?? "GET",
        url: target,
        status: up.status,
        bearer: /^Bearer \S+$/.test(headers.Authorization ?? ""),
      });
      send(res, up.status, up.headers.get("content-type") ?? "application/octet-stream", buf);
    } catch (err) {
      proxied.push({ method: req.method ?? "GET", url: target, status: 502, bearer: false });
      // What Grafana's proxy answers when the upstream cannot be reached.
      send(
        res,
        502,
        "application/json",
        JSON.stringify({ message: `Bad Gateway: ${String(err)}` }),
      );
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? "/";
    const path = url.split("?")[0] ?? "/";
    if (path === "/") return send(res, 200, "text/html", PAGE);
    if (path === "/harness.js") return send(res, 200, "text/javascript", opts.pageScript);
    if (path === "/harness/config") {
      return send(
        res,
        200,
        "application/json",
        JSON.stringify({ uid, pluginType: pluginJson.id, variables: opts.variables ?? {} }),
      );
    }
    if (path === "/harness/datasource" && req.method === "PUT") {
      const saved = JSON.parse((await body(req)).toString()) as {
        jsonData?: Record<string, unknown>;
        secureJsonData?: Record<string, string>;
      };
      jsonData = saved.jsonData ?? {};
      // Like Grafana: a secure field left empty keeps its stored value.
      for (const [k, v] of Object.entries(saved.secureJsonData ?? {})) if (v) secure[k] = v;
      const secureJsonFields = Object.fromEntries(Object.keys(secure).map((k) => [k, true]));
      return send(res, 200, "application/json", JSON.stringify({ jsonData, secureJsonFields }));
    }
    if (url.startsWith(proxyPrefix)) return proxy(req, res, url.slice(proxyPrefix.length));
    const r = opts.renderer;
    if (r) {
      if (path === "/dashboard.html") return send(res, 200, "text/html", DASHBOARD_PAGE);
      if (path === "/dashboard.js") return send(res, 200, "text/javascript", r.pageScript);
      if (path === "/renderer/config") {
        const datasources = r.datasources.map(({ uid, type, name, jsonData: j }) => ({
          uid,
          type,
          name,
          jsonData: j,
        }));
        return send(
          res,
          200,
          "application/json",
          JSON.stringify({ pluginType: pluginJson.id, datasources }),
        );
      }
      // Grafana's UI font, from Debian's fonts-inter (setup.sh), where @grafana/ui's
      // GlobalStyles asks for Grafana's own copies (public/fonts/inter/<face>.woff2).
      const face = /^\/public\/fonts\/inter\/(Inter-[A-Za-z]+)\.woff2$/.exec(path)?.[1];
      if (face) return file(res, INTER_DIR, `${face}.otf`);
      const dash = /^\/renderer\/dashboards\/([\w.-]+\.json)$/.exec(path)?.[1];
      if (dash) return file(res, r.dashboardsDir, dash);
      const m = /^\/api\/datasources\/proxy\/uid\/([\w-]+)\/(.*)$/.exec(url);
      const ds = m?.[1] ? provisioned.get(m[1]) : undefined;
      if (m && ds) return proxyProvisioned(req, res, ds, m[2] ?? "");
    }
    if (path.startsWith("/plugin/")) return file(res, opts.distDir, path.slice("/plugin/".length));
    if (path.startsWith("/public/build/img/")) {
      return file(res, UI_IMG, path.slice("/public/build/img/".length));
    }
    send(res, 404, "text/plain", "not found");
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, "text/plain", String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    uid,
    proxied,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
