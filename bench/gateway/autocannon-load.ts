// The autocannon driver (drivers.ts), run as its own process so it does not
// share an event loop with the gateway or the bench: a dashboard's mix at a
// fixed overall rate, and /healthz at a low rate in the same window as the
// noise baseline. Prints one JSON object with both results.
//   node --import tsx bench/gateway/autocannon-load.ts '<json LoadSpec>'
import autocannon, { type Result } from "autocannon";
import type { LoadSpec } from "./drivers.ts";

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;
const auth = { authorization: `Bearer ${spec.token}`, "content-type": "application/json" };
const summary = (r: Result) => ({
  requests: r.requests.total,
  rps: r.requests.average,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  max: r.latency.max,
  errors: r.errors + r.timeouts + r.non2xx,
});
const [mixed, healthz] = await Promise.all([
  autocannon({
    url: spec.url,
    connections: 20,
    duration: spec.durationSeconds,
    overallRate: spec.rate,
    timeout: 10,
    requests: spec.requests.map((r) => ({
      method: r.method,
      path: r.path,
      headers: auth,
      ...(r.body === undefined ? {} : { body: JSON.stringify(r.body) }),
    })),
  }),
  autocannon({
    url: `${spec.url}/healthz`,
    connections: 2,
    duration: spec.durationSeconds,
    overallRate: spec.healthzRate,
    timeout: 10,
  }),
]);
console.log(JSON.stringify({ mixed: summary(mixed), healthz: summary(healthz) }));
