// The dashboard renderer, node side (a SUBSTITUTE for Grafana's dashboard page;
// ADR 0080): builds the plugin, bundles the renderer page, reads the
// provisioned data sources (provisioning/datasources/, `${VAR}`s expanded from
// the running stack: gateway URL and token, Prometheus URL), serves it all with
// the harness server's stand-in for Grafana's data-source proxy, and drives
// Debian's Chromium to draw one dashboard (or the Explore log view) per call,
// returning the page's report and, if asked, a screenshot.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { parse } from "yaml";
import { REPO_ROOT } from "../../local/runtime/binaries.ts";
import { ENV } from "../../shared/grafana/contract.ts";
import { PROVISIONING } from "../../shared/grafana/files.ts";
import { DIST_DIR, ensurePluginBuilt } from "./build.ts";
import { bundleHarnessPage } from "./bundle.ts";
import type { DashboardReport, ExploreReport } from "./dashboard-report.ts";
import { startHarnessServer, type HarnessServer, type ProvisionedDatasource } from "./server.ts";

const CHROMIUM = process.env.KG_CHROMIUM ?? "/usr/bin/chromium";

/** Where the running stack is: what a Grafana container would get as environment. */
export interface StackEndpoints {
  gatewayUrl: string;
  gatewayToken: string;
  prometheusUrl: string;
}

export interface RenderRequest {
  /** Range in unix ms; the dashboard's own `time` when absent. */
  from?: number;
  to?: number;
  /** `var-<name>=<value>` of a Grafana URL; a variable not named gets Grafana's default. */
  variables?: Record<string, string[]>;
  /** Writes a PNG of the viewport here. */
  screenshot?: string;
}

export interface Renderer {
  url: string;
  dashboard(file: string, req?: RenderRequest): Promise<DashboardReport>;
  explore(datasourceUid: string, query: object, req?: RenderRequest): Promise<ExploreReport>;
  close(): Promise<void>;
}

interface ProvisioningFile {
  datasources: (Omit<ProvisionedDatasource, "secureJsonData"> & {
    secureJsonData?: Record<string, string>;
  })[];
}

/** The provisioned data sources with Grafana's `${VAR}` expansion; an unset variable is an error. */
export async function provisionedDatasources(
  env: Record<string, string>,
): Promise<ProvisionedDatasource[]> {
  const text = await readFile(PROVISIONING.datasources, "utf8");
  const expanded = text.replace(/\$\{(\w+)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined) throw new Error(`provisioning/datasources: ${name} is not set`);
    return v;
  });
  return (parse(expanded) as ProvisioningFile).datasources.map((d) => ({
    uid: d.uid,
    type: d.type,
    name: d.name,
    url: d.url,
    jsonData: d.jsonData,
    secureJsonData: d.secureJsonData ?? {},
  }));
}

export async function startRenderer(
  stack: StackEndpoints,
  opts: { dashboardsDir?: string; width?: number; height?: number; log?: (l: string) => void } = {},
): Promise<Renderer> {
  await ensurePluginBuilt(opts.log);
  const [harnessScript, pageScript] = await Promise.all([
    bundleHarnessPage(),
    bundleHarnessPage("page/dashboard/entry.tsx"),
  ]);
  const datasources = await provisionedDatasources({
    [ENV.gatewayUrl]: stack.gatewayUrl,
    [ENV.gatewayToken]: stack.gatewayToken,
    [ENV.prometheusUrl]: stack.prometheusUrl,
  });
  let server: HarnessServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startHarnessServer({
      distDir: DIST_DIR,
      pageScript: harnessScript,
      renderer: {
        pageScript,
        dashboardsDir: opts.dashboardsDir ?? join(REPO_ROOT, "dashboards"),
        datasources,
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
  } catch (err) {
    await browser?.close();
    await server?.close();
    throw err;
  }
  const srv = server;
  const b = browser;
  const viewport = { width: opts.width ?? 1920, height: opts.height ?? 1080 };

  async function visit<T>(query: URLSearchParams, screenshot?: string): Promise<T> {
    const page = await b.newPage({ viewport });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    try {
      await page.goto(`${srv.url}/dashboard.html?${query.toString()}`);
      await page.waitForFunction(
        () => (window as unknown as { renderer?: { done: boolean } }).renderer?.done === true,
        undefined,
        { timeout: 120_000 },
      );
      const report = await page.evaluate(
        () => (window as unknown as { renderer: { report: T } }).renderer.report,
      );
      if (screenshot) await page.screenshot({ path: screenshot });
      if (pageErrors.length) {
        (report as { pageErrors?: string[] }).pageErrors = pageErrors;
      }
      return report;
    } finally {
      await page.close();
    }
  }

  const range = (q: URLSearchParams, req: RenderRequest) => {
    if (req.from !== undefined) q.set("from", String(Math.floor(req.from)));
    if (req.to !== undefined) q.set("to", String(Math.ceil(req.to)));
    return q;
  };

  return {
    url: srv.url,
    dashboard(file, req = {}) {
      const q = range(new URLSearchParams({ dashboard: file }), req);
      for (const [name, values] of Object.entries(req.variables ?? {})) {
        for (const v of values) q.append(`var-${name}`, v);
      }
      return visit<DashboardReport>(q, req.screenshot);
    },
    explore(datasourceUid, query, req = {}) {
      const q = range(
        new URLSearchParams({ explore: datasourceUid, query: JSON.stringify(query) }),
        req,
      );
      return visit<ExploreReport>(q, req.screenshot);
    },
    async close() {
      await b.close();
      await srv.close();
    },
  };
}
