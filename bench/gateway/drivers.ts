// The load generators bench/gateway drives the gateway with, each in processes
// of its own so none shares an event loop (or a CPU) with the gateway:
//   vegeta (default): an open-loop constant-rate attack. Requests leave at even
//     intervals (5 ms apart at 200 req/s) whether or not earlier ones have
//     answered, and each latency is that request's own send-to-last-byte time.
//   autocannon: kept to reproduce earlier figures. Its rate limiter lets each
//     connection send its whole per-second quota back to back at the start of
//     every second, and with a rate it "corrects" for coordinated omission with
//     a 1 ms expected interval, adding synthetic samples. ADR 0055 has the details.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { goInstalled, REPO_ROOT } from "../../src/local/runtime/binaries.ts";

const run = promisify(execFile);

export type Driver = "vegeta" | "autocannon";

export interface LoadSpec {
  url: string;
  token: string;
  durationSeconds: number;
  rate: number;
  healthzRate: number;
  requests: { method: string; path: string; body?: unknown }[];
}

/** One attack's figures; latencies in milliseconds. */
export interface Stats {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
}

export interface LoadResult {
  mixed: Stats;
  healthz: Stats;
}

export function runLoad(driver: Driver, spec: LoadSpec, dir: string): Promise<LoadResult> {
  return driver === "vegeta" ? vegetaLoad(spec, dir) : autocannonLoad(spec);
}

/** The fields of `vegeta report -type=json` read here (latencies in ns). */
interface VegetaReport {
  latencies: { "50th": number; "90th": number; "99th": number; max: number };
  requests: number;
  rate: number;
  status_codes: Record<string, number>;
}

interface VegetaTarget {
  method: string;
  url: string;
  header: Record<string, string[]>;
  body?: string;
}

async function attack(
  name: string,
  targets: VegetaTarget[],
  rate: number,
  spec: LoadSpec,
  dir: string,
): Promise<Stats> {
  const vegeta = goInstalled("vegeta", "VEGETA_VERSION");
  const file = join(dir, `${name}.targets`);
  const out = join(dir, `${name}.bin`);
  await writeFile(file, targets.map((t) => JSON.stringify(t)).join("\n") + "\n");
  await run(vegeta, [
    "attack",
    "-format=json",
    `-targets=${file}`,
    `-rate=${rate}/1s`,
    `-duration=${spec.durationSeconds}s`,
    "-timeout=10s",
    `-output=${out}`,
  ]);
  const { stdout } = await run(vegeta, ["report", "-type=json", out]);
  const r = JSON.parse(stdout) as VegetaReport;
  const ms = (ns: number) => ns / 1e6;
  return {
    requests: r.requests,
    rps: r.rate,
    p50: ms(r.latencies["50th"]),
    p90: ms(r.latencies["90th"]),
    p99: ms(r.latencies["99th"]),
    max: ms(r.latencies.max),
    errors: r.requests - (r.status_codes["200"] ?? 0),
  };
}

async function vegetaLoad(spec: LoadSpec, dir: string): Promise<LoadResult> {
  const header = {
    authorization: [`Bearer ${spec.token}`],
    "content-type": ["application/json"],
  };
  const mixed: VegetaTarget[] = spec.requests.map((r) => ({
    method: r.method,
    url: `${spec.url}${r.path}`,
    header,
    ...(r.body === undefined
      ? {}
      : { body: Buffer.from(JSON.stringify(r.body)).toString("base64") }),
  }));
  const healthz: VegetaTarget[] = [{ method: "GET", url: `${spec.url}/healthz`, header: {} }];
  const [m, h] = await Promise.all([
    attack("mixed", mixed, spec.rate, spec, dir),
    attack("healthz", healthz, spec.healthzRate, spec, dir),
  ]);
  return { mixed: m, healthz: h };
}

function autocannonLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO_ROOT, "bench/gateway/autocannon-load.ts"),
        JSON.stringify(spec),
      ],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`autocannon load failed: ${stderr}`));
        else resolve(JSON.parse(stdout) as LoadResult);
      },
    );
  });
}
