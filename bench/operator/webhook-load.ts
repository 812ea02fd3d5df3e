// Load generator for the webhook ingest benchmark, run as its own process so
// it does not share an event loop with the operator: `connections` loops POST
// Alertmanager bodies (cycling through `subjects` subjects) for `seconds`,
// then print one JSON line of counts and latency percentiles.
//   node --import tsx bench/operator/webhook-load.ts URL [connections] [seconds] [subjects]
import { alertmanagerBody } from "../../tests/support/alertmanager-body.ts";

const [url = "", c = "10", s = "10", n = "50"] = process.argv.slice(2);
const connections = Number(c);
const seconds = Number(s);
const subjects = Number(n);

const bodies = Array.from({ length: subjects }, (_, i) =>
  JSON.stringify(
    alertmanagerBody(
      {
        alertname: "Bench",
        kernel_gossip_signal: "packet-drops",
        cgroup: `/bench/${i}`,
        reason: "NETFILTER_DROP",
      },
      { kernel_gossip_value: "500" },
    ),
  ),
);

const latencies: number[] = [];
let non2xx = 0;
let errors = 0;
let sent = 0;
const end = Date.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (Date.now() < end) {
      const body = bodies[sent++ % bodies.length];
      const t = performance.now();
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
        await res.arrayBuffer();
        if (res.status >= 300) non2xx++;
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  }),
);
latencies.sort((a, b) => a - b);
const p = (q: number) =>
  latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? NaN;
console.log(
  JSON.stringify({
    requests: latencies.length + errors,
    perSecond: latencies.length / seconds,
    p50: p(0.5),
    p99: p(0.99),
    non2xx,
    errors,
  }),
);
