// Harness substitutes for the two Grafana services the plugin calls (Grafana
// itself cannot run here):
// - backendSrv.fetch: a window.fetch of the same URL, so requests go to the
//   harness server's stand-in for Grafana's data-source proxy, which adds the
//   route's Authorization header; non-2xx answers reject with {status,
//   statusText, data} as Grafana's FetchError does.
// - templateSrv.replace: $var / ${var} from a fixed map, multi-values joined
//   with commas ('csv' format), scoped variables first.
import type { ScopedVars } from "@grafana/data";
import {
  setBackendSrv,
  setTemplateSrv,
  type BackendSrv,
  type BackendSrvRequest,
  type TemplateSrv,
} from "@grafana/runtime";
import { Observable } from "rxjs";

export interface RecordedRequest {
  method: string;
  url: string;
  body?: unknown;
  status: number;
  /** Grafana's request id (the panel query runner sets one per panel and data source). */
  requestId?: string;
}

export const requests: RecordedRequest[] = [];

function fetchObservable(opts: BackendSrvRequest) {
  return new Observable((sub) => {
    const method = (opts.method ?? "GET").toUpperCase();
    const init: RequestInit = { method, headers: { accept: "application/json" } };
    if (opts.data !== undefined) {
      init.body = JSON.stringify(opts.data);
      init.headers = { ...init.headers, "content-type": "application/json" };
    }
    const controller = new AbortController();
    init.signal = controller.signal;
    window
      .fetch(opts.url, init)
      .then(async (res) => {
        const text = await res.text();
        let data: unknown = text;
        try {
          data = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        requests.push({
          method,
          url: opts.url,
          body: opts.data,
          status: res.status,
          requestId: opts.requestId,
        });
        if (res.ok) {
          sub.next({
            status: res.status,
            statusText: res.statusText,
            ok: true,
            data,
            headers: res.headers,
            url: opts.url,
            type: res.type,
            redirected: res.redirected,
            config: opts,
          });
          sub.complete();
        } else {
          sub.error({ status: res.status, statusText: res.statusText, data, config: opts });
        }
      })
      .catch((err: unknown) => {
        requests.push({
          method,
          url: opts.url,
          body: opts.data,
          status: 0,
          requestId: opts.requestId,
        });
        sub.error({ status: 0, statusText: String(err), data: {}, config: opts });
      });
    return () => controller.abort();
  });
}

export function installBackendSrv() {
  setBackendSrv({ fetch: fetchObservable } as unknown as BackendSrv);
}

export function installSubstitutes(variables: Record<string, string | string[]>) {
  installBackendSrv();
  const value = (name: string, scoped?: ScopedVars) => {
    const v = scoped?.[name]?.value ?? variables[name];
    if (v === undefined) {
      return undefined;
    }
    return Array.isArray(v) ? v.join(",") : String(v);
  };
  setTemplateSrv({
    getVariables: () => [],
    containsTemplate: (t?: string) => /\$\w+|\$\{\w+\}/.test(t ?? ""),
    updateTimeRange: () => undefined,
    replace: (text?: string, scoped?: ScopedVars) =>
      (text ?? "").replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (m, a?: string, b?: string) => value(a ?? b ?? "", scoped) ?? m,
      ),
  } as unknown as TemplateSrv);
}
