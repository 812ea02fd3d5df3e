// The annotation renderer the Grafana-request substitute uses, checked against
// the real template engine of the same functions: a real Prometheus renders
// each rule's summary for a set of values (rules over label_replace(vector(v))),
// and the substitute must produce the same text from the Grafana form of the
// same summary ($values.B.Value in place of $value).
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { stringify } from "yaml";
import { startPrometheus, type Prometheus } from "../../local/runtime/prometheus.ts";
import { eventually } from "../../../tests/support/gateway.ts";
import { goFloat, renderTemplate } from "../../../tests/support/grafana/template.ts";
import { ALERT_SPECS } from "./rules.ts";

const VALUES = [
  0, 3e-7, 0.00012, 0.0234, 0.8537, 1, 12.5, 90.5, 150, 1234.5, 98765.4, 123456, 1234567, 4e6,
  93784.5,
];
const LABELS = { cgroup: "/kg/x", pod: "web-0", reason: "NO_SOCKET" };

let prom: Prometheus;
before(async () => {
  const rules = join(tmpdir(), `kg-template-rules-${process.pid}.yaml`);
  let n = 0;
  const labelled = (v: number) =>
    Object.entries(LABELS).reduce(
      (e, [k, val]) => `label_replace(${e}, "${k}", "${val}", "", "")`,
      `vector(${v})`,
    );
  await writeFile(
    rules,
    stringify({
      groups: [
        {
          name: "templates",
          interval: "1s",
          rules: ALERT_SPECS.flatMap((s) =>
            VALUES.map((v) => ({
              alert: `T${n++}`,
              expr: labelled(v),
              labels: { spec: s.uid, v: String(v) },
              annotations: { summary: s.summary("$value") },
            })),
          ),
        },
      ],
    }),
  );
  prom = await startPrometheus({ scrapeTargets: [], ruleFiles: [rules], scrapeInterval: "1s" });
});
after(() => prom.stop());

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

test("summaries render as the real Prometheus template engine renders them", async () => {
  const alerts = await eventually(
    "every template alert",
    async () => {
      const r = await fetch(`${prom.url}/api/v1/alerts`);
      const a = ((await r.json()) as { data: { alerts: PromAlert[] } }).data.alerts;
      return a.length === ALERT_SPECS.length * VALUES.length ? a : undefined;
    },
    30_000,
  );
  for (const a of alerts) {
    const spec = ALERT_SPECS.find((s) => s.uid === a.labels.spec);
    assert.ok(spec);
    const v = Number(a.labels.v);
    const ours = renderTemplate(spec.summary("$values.B.Value"), {
      labels: { ...LABELS },
      values: { B: v },
    });
    assert.equal(ours, a.annotations.summary, `${spec.uid} at ${v}`);
  }
});

test("unsupported template constructs fail loudly", () => {
  const data = { labels: {}, values: { B: 1 } };
  assert.throws(() => renderTemplate("{{ $values.B.Value | printf }}", data), /unsupported/);
  assert.throws(() => renderTemplate("{{ if eq 1 1 }}x{{ end }}", data), /unsupported/);
  assert.throws(() => renderTemplate("{{ $values.A.Value }}", data), /no value/);
  assert.equal(renderTemplate("{{ $labels.missing }}", data), "");
  // Go's fmt.Sprint of these float64s:
  assert.equal(goFloat(4e6), "4e+06");
  assert.equal(goFloat(1234567), "1.234567e+06");
  assert.equal(goFloat(123456), "123456");
  assert.equal(goFloat(0.00001), "1e-05");
});
