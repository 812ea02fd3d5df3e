// OTLP/HTTP metrics bodies → data points. Protobuf bodies are decoded with our
// metrics.proto; protobufjs then presents them in the same lowerCamelCase shape
// the OTLP JSON encoding uses, so one reader handles both. The reader checks
// every field it uses and throws on a wrong type (→ 400); fields it does not
// use are ignored, as the specification asks of receivers.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const root = protobuf.parse(readFileSync(join(HERE, "metrics.proto"), "utf8")).root;
const Request = root.lookupType("opentelemetry.proto.metrics.v1.ExportMetricsServiceRequest");
const Response = root.lookupType("opentelemetry.proto.metrics.v1.ExportMetricsServiceResponse");
const Status = root.lookupType("opentelemetry.proto.metrics.v1.Status");

export class PayloadError extends Error {}

/** One number at one time, with the resource's and the point's attributes. */
export interface OtlpPoint {
  metric: string;
  resource: Record<string, string>;
  attributes: Record<string, string>;
  timeMs: number;
  startMs: number | undefined;
  value: number;
  /** gauge: a level or a reading; delta: a count since the previous point; cumulative: a counter. */
  kind: "gauge" | "delta" | "cumulative";
}

export interface Decoded {
  points: OtlpPoint[];
  /** Points the gateway does not store (histograms, summaries, no value), with why. */
  rejected: number;
  reasons: string[];
}

export function decodeProtobuf(body: Buffer): unknown {
  try {
    return Request.toObject(Request.decode(body), {
      longs: String,
      enums: Number,
      defaults: false,
    });
  } catch (err) {
    throw new PayloadError(`not an ExportMetricsServiceRequest: ${(err as Error).message}`);
  }
}

export function decodeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new PayloadError(`body is not JSON: ${(err as Error).message}`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function obj(v: unknown, at: string): Obj {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new PayloadError(`${at} must be an object`);
  return v;
}
/** A repeated field: absent is empty; each element must be an object (a message). */
function arr(v: unknown, at: string): Obj[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new PayloadError(`${at} must be an array`);
  v.forEach((e, i) => {
    if (!isObj(e)) throw new PayloadError(`${at}[${i}] must be an object`);
  });
  return v as Obj[];
}
/** int64/fixed64 as JSON string or number, or protobufjs' decimal string. */
function int(v: unknown, at: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  throw new PayloadError(`${at} must be an integer`);
}
/** Nanoseconds (string or number) → milliseconds, exact to the microsecond. */
function nanosToMs(v: unknown, at: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return v / 1e6;
  if (typeof v === "string" && /^\d+$/.test(v)) {
    const n = BigInt(v);
    return Number(n / 1_000_000n) + Number(n % 1_000_000n) / 1e6;
  }
  throw new PayloadError(`${at} must be unsigned nanoseconds`);
}

function anyValue(v: unknown, at: string): string | undefined {
  const o = obj(v, at);
  if (typeof o.stringValue === "string") return o.stringValue;
  if (typeof o.boolValue === "boolean") return String(o.boolValue);
  if (o.intValue !== undefined) return String(int(o.intValue, `${at}.intValue`));
  if (typeof o.doubleValue === "number") return String(o.doubleValue);
  return undefined; // arrays, maps and bytes make no label
}

function attributes(v: unknown, at: string): Record<string, string> {
  const out: Record<string, string> = {};
  arr(v, at).forEach((kv, i) => {
    const o = obj(kv, `${at}[${i}]`);
    if (typeof o.key !== "string") throw new PayloadError(`${at}[${i}].key must be a string`);
    const s = anyValue(o.value, `${at}[${i}].value`);
    if (s !== undefined) out[o.key] = s;
  });
  return out;
}

const DELTA = 1;

/** The points of an ExportMetricsServiceRequest (as decoded, or as OTLP JSON). */
export function readRequest(req: unknown): Decoded {
  const out: Decoded = { points: [], rejected: 0, reasons: [] };
  const reject = (n: number, why: string) => {
    out.rejected += n;
    if (!out.reasons.includes(why)) out.reasons.push(why);
  };
  if (!isObj(req)) throw new PayloadError("body must be an ExportMetricsServiceRequest object");
  const rms = arr(req.resourceMetrics, "resourceMetrics");
  rms.forEach((rmRaw, ri) => {
    const rm = obj(rmRaw, `resourceMetrics[${ri}]`);
    const resource = attributes(
      obj(rm.resource, "resource").attributes,
      `resourceMetrics[${ri}].resource.attributes`,
    );
    arr(rm.scopeMetrics, `resourceMetrics[${ri}].scopeMetrics`).forEach((smRaw, si) => {
      const at = `resourceMetrics[${ri}].scopeMetrics[${si}]`;
      arr(obj(smRaw, at).metrics, `${at}.metrics`).forEach((mRaw, mi) => {
        const mat = `${at}.metrics[${mi}]`;
        const m = obj(mRaw, mat);
        if (typeof m.name !== "string" || m.name === "")
          throw new PayloadError(`${mat}.name must be a non-empty string`);
        for (const other of ["histogram", "exponentialHistogram", "summary"]) {
          if (m[other] !== undefined) {
            reject(
              arr(obj(m[other], `${mat}.${other}`).dataPoints, `${mat}.${other}.dataPoints`).length,
              `${other} points are not stored`,
            );
          }
        }
        const sum = m.sum !== undefined ? obj(m.sum, `${mat}.sum`) : undefined;
        const gauge = m.gauge !== undefined ? obj(m.gauge, `${mat}.gauge`) : undefined;
        const data = sum ?? gauge;
        if (!data) return;
        const temporality = sum
          ? int(sum.aggregationTemporality, `${mat}.sum.aggregationTemporality`)
          : undefined;
        const kind: OtlpPoint["kind"] = !sum
          ? "gauge"
          : temporality === DELTA
            ? "delta"
            : "cumulative";
        arr(data.dataPoints, `${mat}.dataPoints`).forEach((pRaw, pi) => {
          const pat = `${mat}.dataPoints[${pi}]`;
          const p = obj(pRaw, pat);
          const timeMs = nanosToMs(p.timeUnixNano, `${pat}.timeUnixNano`);
          const value =
            typeof p.asDouble === "number"
              ? p.asDouble
              : p.asInt !== undefined
                ? int(p.asInt, `${pat}.asInt`)
                : undefined;
          if (p.asDouble !== undefined && typeof p.asDouble !== "number")
            throw new PayloadError(`${pat}.asDouble must be a number`);
          if (value === undefined || !Number.isFinite(value) || !timeMs) {
            reject(1, "points need a time and a finite value");
            return;
          }
          out.points.push({
            metric: m.name as string,
            resource,
            attributes: attributes(p.attributes, `${pat}.attributes`),
            timeMs,
            startMs: nanosToMs(p.startTimeUnixNano, `${pat}.startTimeUnixNano`) || undefined,
            value,
            kind,
          });
        });
      });
    });
  });
  return out;
}

export type Encoding = "protobuf" | "json";

export function encodeResponse(enc: Encoding, rejected: number, message: string): Buffer | string {
  const partial =
    rejected > 0 || message
      ? { rejectedDataPoints: String(rejected), errorMessage: message }
      : undefined;
  if (enc === "json") return JSON.stringify(partial ? { partialSuccess: partial } : {});
  return Buffer.from(
    Response.encode(Response.fromObject(partial ? { partialSuccess: partial } : {})).finish(),
  );
}

export function encodeStatus(enc: Encoding, code: number, message: string): Buffer | string {
  if (enc === "json") return JSON.stringify({ code, message });
  return Buffer.from(Status.encode(Status.fromObject({ code, message })).finish());
}
