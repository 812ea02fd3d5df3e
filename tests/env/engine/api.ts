// A small Docker Engine API client over the daemon's unix socket (HTTP/1.1, the
// API the docker CLI speaks), for what the tests ask the engine directly:
// inspecting containers, networks, volumes and images, and importing root
// filesystems as images. Everything compose-shaped goes through the compose CLI.
import { createWriteStream } from "node:fs";
import { request } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";

export interface ApiResponse {
  status: number;
  text: string;
}

export interface EngineApi {
  call: (method: string, path: string, body?: Readable | string) => Promise<ApiResponse>;
  /** GET whose (binary) answer goes to a file, e.g. `docker save`'s /images/get. */
  download: (path: string, file: string) => Promise<void>;
  /** GET returning JSON; throws naming the path on a non-2xx answer. */
  get: <T>(path: string) => Promise<T>;
}

export function engineApi(socketPath: string): EngineApi {
  const call = (method: string, path: string, body?: Readable | string) =>
    new Promise<ApiResponse>((resolve, reject) => {
      const req = request(
        {
          socketPath,
          method,
          path,
          headers:
            typeof body === "string"
              ? { "content-type": "application/json" }
              : body
                ? { "content-type": "application/x-tar" }
                : {},
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      if (typeof body === "string") req.end(body);
      else if (body) body.pipe(req);
      else req.end();
    });
  const get = async <T>(path: string): Promise<T> => {
    const r = await call("GET", path);
    if (r.status < 200 || r.status > 299)
      throw new Error(`engine API GET ${path}: ${String(r.status)} ${r.text}`);
    return JSON.parse(r.text) as T;
  };
  const download = (path: string, file: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request({ socketPath, method: "GET", path }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`engine API GET ${path}: ${String(res.statusCode)}`));
          return;
        }
        pipeline(res, createWriteStream(file)).then(resolve, reject);
      });
      req.on("error", reject);
      req.end();
    });
  return { call, get, download };
}

/** Errors in a streamed JSON-lines answer (image import/build progress). */
export function streamErrors(text: string): string[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      try {
        return (JSON.parse(l) as { error?: string }).error;
      } catch {
        return undefined;
      }
    })
    .filter((e): e is string => Boolean(e));
}
