// docker-compose.yaml as Docker Compose reads it, for tests that check a
// container's view without an engine: `${VAR}`, `${VAR:-default}` and
// `${VAR-default}` interpolation (Compose specification, "Interpolation") and,
// per service, its environment and the host path behind any path inside the
// container (bind mounts resolved relative to the file, the deepest mount wins,
// named volumes and tmpfs named as such).
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../../src/local/runtime/binaries.ts";

export const COMPOSE_FILE = join(REPO_ROOT, "docker-compose.yaml");

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number };
  tmpfs?: string[];
  cap_add?: string[];
  cap_drop?: string[];
  [key: string]: unknown;
}

export interface Compose {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string; file?: string }>;
}

/** Compose's interpolation of one string; `$$` is a literal `$`. */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (m, braced?: string, colon?: string, fallback?: string, bare?: string) => {
      if (m === "$$") return "$";
      const value = env[(braced ?? bare) as string];
      if (fallback === undefined) return value ?? "";
      const unset = colon ? !value : value === undefined;
      return unset ? fallback : (value ?? "");
    },
  );
}

/** The compose file after interpolation with `env` (default: no variables set, as on a first run). */
export function loadCompose(env: Record<string, string | undefined> = {}): Compose {
  return parse(interpolate(readFileSync(COMPOSE_FILE, "utf8"), env)) as Compose;
}

export type Resolved =
  | { kind: "bind"; host: string; readOnly: boolean }
  | { kind: "volume"; volume: string }
  | { kind: "tmpfs" }
  | { kind: "image" };

/** A service's filesystem as mounted: where a path inside the container comes from. */
export interface ContainerView {
  service: string;
  env: Record<string, string>;
  resolve: (path: string) => Resolved;
}

export function containerView(compose: Compose, service: string): ContainerView {
  const s = compose.services[service];
  if (!s) throw new Error(`docker-compose.yaml has no service ${service}`);
  const mounts = [
    ...(s.volumes ?? []).map((v) => {
      const [src = "", dst = "", mode = ""] = v.split(":");
      return { src, dst: posix.normalize(dst), readOnly: mode.split(",").includes("ro") };
    }),
    ...(s.tmpfs ?? []).map((t) => ({
      src: "",
      dst: posix.normalize(t.split(":")[0] ?? ""),
      readOnly: false,
    })),
  ].sort((a, b) => b.dst.length - a.dst.length);
  const resolve = (path: string): Resolved => {
    const p = posix.normalize(path);
    const m = mounts.find((x) => p === x.dst || p.startsWith(`${x.dst}/`));
    if (!m) return { kind: "image" };
    if (!m.src) return { kind: "tmpfs" };
    if (!m.src.startsWith(".") && !m.src.startsWith("/")) return { kind: "volume", volume: m.src };
    const base = m.src.startsWith("/") ? m.src : join(REPO_ROOT, m.src);
    return { kind: "bind", host: join(base, p.slice(m.dst.length)), readOnly: m.readOnly };
  };
  return { service, env: { ...(s.environment ?? {}) }, resolve };
}
