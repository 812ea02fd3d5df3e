// The CRDs against a real kube-apiserver: they install, valid objects are
// accepted and shown with their printer columns, invalid ones are rejected
// with a message naming the field, and the server stores our schema.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { CRDS } from "../src/shared/crds/definitions.ts";
import { closeTestCluster, testCluster, type TestCluster } from "./env/test-cluster.ts";

type Obj = Record<string, unknown> & { spec: Record<string, unknown> };
const fixture = async (name: string): Promise<Obj> =>
  parse(await readFile(new URL(`fixtures/${name}`, import.meta.url), "utf8")) as Obj;

let kube: TestCluster;
let ns: string;
before(async () => {
  kube = await testCluster();
  ns = await kube.namespace("crds");
});
after(() => closeTestCluster());

const apply = (obj: unknown) =>
  kube.kubectl(["apply", "--server-side", "-n", ns, "-f", "-"], stringify(obj));

describe("CRD installation", () => {
  test("both CRDs are established with the schema the model generates", async () => {
    for (const crd of CRDS) {
      const res = await kube.kubectl(["get", "crd", crd.metadata.name, "-o", "json"]);
      assert.equal(res.code, 0, res.stderr);
      const live = JSON.parse(res.stdout) as typeof crd & {
        status: { conditions: { type: string; status: string }[] };
      };
      const established = live.status.conditions.find((c) => c.type === "Established");
      assert.equal(established?.status, "True");
      assert.deepEqual(
        live.spec.versions[0]?.schema,
        crd.spec.versions[0]?.schema,
        `${crd.metadata.name}: stored schema differs from the model`,
      );
      assert.deepEqual(live.spec.names.shortNames, crd.spec.names.shortNames);
    }
  });
});

describe("KernelWhisper", () => {
  test("a valid whisper is accepted and listed with its printer columns", async () => {
    const kw = await fixture("whisper-valid.yaml");
    const res = await apply(kw);
    assert.equal(res.code, 0, res.stderr);
    const status = await kube.kubectl([
      "patch",
      "kw",
      "checkout-throttled",
      "-n",
      ns,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({
        status: {
          phase: "Active",
          insight: "Throttled in 62% of periods while averaging 38% of its limit.",
          recommendation: {
            action: "raise-cpu-limit",
            rationale: "quota exhausted early in each period",
          },
          observedGeneration: 1,
        },
      }),
    ]);
    assert.equal(status.code, 0, status.stderr);
    const table = await kube.kubectl(["get", "kw", "-n", ns]);
    assert.equal(table.code, 0, table.stderr);
    const [header, row] = table.stdout.trim().split("\n");
    assert.match(
      header ?? "",
      /NAME\s+SIGNAL\s+SEVERITY\s+POD\s+PHASE\s+SEEN\s+ACTION\s+LAST-SEEN/,
    );
    assert.match(
      row ?? "",
      /checkout-throttled\s+cpu-throttling\s+warning\s+checkout-7d9f\s+Active\s+3\s+raise-cpu-limit/,
    );
    const wide = await kube.kubectl(["get", "kw", "-n", ns, "-o", "wide"]);
    assert.match(wide.stdout, /CONTAINER\s+NODE/);
    assert.match(wide.stdout, /Throttled in 62% of periods/);
  });

  const rejects = async (mutate: (o: Obj) => void, field: RegExp, name: string) => {
    const kw = await fixture("whisper-valid.yaml");
    (kw.metadata as { name: string }).name = name;
    mutate(kw);
    const res = await apply(kw);
    assert.notEqual(res.code, 0, `${name} was accepted`);
    assert.match(res.stderr, field);
  };

  test("an unknown signal is rejected, naming spec.signal and the allowed values", () =>
    rejects(
      (o) => (o.spec.signal = "cpu-throtling"),
      /spec\.signal: Unsupported value: "cpu-throtling".*"cpu-throttling"/s,
      "bad-enum",
    ));

  test("a missing severity is rejected as a required field", () =>
    rejects((o) => delete o.spec.severity, /spec\.severity: Required value/, "no-severity"));

  test("a negative occurrence count is rejected", () =>
    rejects(
      (o) => (o.spec.occurrences = -1),
      /spec\.occurrences: Invalid value: -1: .*greater than or equal to 1/,
      "neg-count",
    ));

  test("a negative count quantity is rejected by the CEL rule", () =>
    rejects(
      (o) => {
        const truth = o.spec.kernelTruth as { quantities: unknown[] };
        truth.quantities.push({ name: "drops", value: -5, unit: "count" });
      },
      /spec\.kernelTruth\.quantities\[3\]\.value: Invalid value.*must not be negative/s,
      "neg-quantity",
    ));

  test("a ratio above 1 is rejected", () =>
    rejects(
      (o) => {
        const truth = o.spec.kernelTruth as { quantities: { value: number }[] };
        if (truth.quantities[0]) truth.quantities[0].value = 1.7;
      },
      /quantities\[0\]\.value.*between 0 and 1/s,
      "bad-ratio",
    ));

  test("a subject with neither pod nor cgroup path is rejected", () =>
    rejects(
      (o) => (o.spec.subject = { node: "node-a" }),
      /spec\.subject.*must name a pod or a cgroupPath/s,
      "no-subject",
    ));

  test("lastSeen before firstSeen is rejected", () =>
    rejects(
      (o) => (o.spec.lastSeen = "2026-11-25T09:00:00Z"),
      /spec\.lastSeen.*must not be before firstSeen/s,
      "time-travel",
    ));
});

describe("PodBirthCertificate", () => {
  test("a valid certificate is accepted and listed with its printer columns", async () => {
    const res = await apply(await fixture("birth-valid.yaml"));
    assert.equal(res.code, 0, res.stderr);
    const table = await kube.kubectl(["get", "pbc", "-n", ns]);
    const [header, row] = table.stdout.trim().split("\n");
    assert.match(header ?? "", /NAME\s+POD\s+NODE\s+DURATION-S\s+SYSCALLS\s+EXECS\s+PHASE\s+AGE/);
    assert.match(row ?? "", /web-0-birth\s+web-0\s+node-a\s+0\.098\s+1234\s+3\s+/);
  });

  test("an unknown actor is rejected naming the timeline entry", async () => {
    const pbc = await fixture("birth-valid.yaml");
    (pbc.metadata as { name: string }).name = "bad-actor";
    const entry = (pbc.spec.timeline as { actor: string }[])[1];
    assert.ok(entry);
    entry.actor = "scheduler";
    const res = await apply(pbc);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /spec\.timeline\[1\]\.actor: Unsupported value: "scheduler"/);
  });

  test("a negative syscall count is rejected", async () => {
    const pbc = await fixture("birth-valid.yaml");
    (pbc.metadata as { name: string }).name = "neg-syscalls";
    (pbc.spec.kernelStats as { syscalls: number }).syscalls = -3;
    const res = await apply(pbc);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /spec\.kernelStats\.syscalls: Invalid value: -3/);
  });

  test("a certificate without kernelStats is rejected", async () => {
    const pbc = await fixture("birth-valid.yaml");
    (pbc.metadata as { name: string }).name = "no-stats";
    delete pbc.spec.kernelStats;
    const res = await apply(pbc);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /spec\.kernelStats: Required value/);
  });
});

test("kubectl get kw,pbc -A lists both kinds", async () => {
  const res = await kube.kubectl(["get", "kw,pbc", "-A"]);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /kernelwhisper\.kernel\.gossip\.io\/checkout-throttled/);
  assert.match(res.stdout, /podbirthcertificate\.kernel\.gossip\.io\/web-0-birth/);
});
