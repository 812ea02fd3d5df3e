// The model is the single source of truth: the committed CRD YAML must be
// exactly what it generates, and the TypeScript types (derived from the same
// schemas) must describe objects the schemas accept.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { test } from "node:test";
import { Value } from "@sinclair/typebox/value";
import { parse } from "yaml";
import { CRDS } from "../crds/definitions.ts";
import { crdPath, generated } from "../crds/generate.ts";
import { KernelWhisperSpecSchema, type KernelWhisperSpec } from "./kernel-whisper.ts";
import {
  PodBirthCertificateSpecSchema,
  type PodBirthCertificateSpec,
} from "./pod-birth-certificate.ts";

for (const [path, want] of generated()) {
  test(`${relative(process.cwd(), path)} is what its source generates`, async () => {
    const committed = await readFile(path, "utf8");
    assert.equal(committed, want, "stale generated file: run `npm run gen`");
  });
}

test("every CRD is among the generated files", () => {
  const paths = generated().map(([p]) => p);
  for (const crd of CRDS) assert.ok(paths.includes(crdPath(crd)));
});

const fixture = async (name: string) =>
  (
    parse(await readFile(new URL(`../../../tests/fixtures/${name}`, import.meta.url), "utf8")) as {
      spec: unknown;
    }
  ).spec;

test("a typed KernelWhisperSpec satisfies the CRD schema", () => {
  const spec: KernelWhisperSpec = {
    subject: { namespace: "default", pod: "spinner", container: "app" },
    signal: "oom-kill",
    severity: "critical",
    kernelTruth: {
      window: { start: "2026-11-25T10:00:00Z", end: "2026-11-25T10:00:01Z" },
      quantities: [{ name: "victimRss", value: 268435456, unit: "bytes" }],
      attributes: { comm: "stress" },
    },
    source: "observer",
    firstSeen: "2026-11-25T10:00:00Z",
    lastSeen: "2026-11-25T10:00:00Z",
    occurrences: 1,
  };
  assert.deepEqual([...Value.Errors(KernelWhisperSpecSchema, spec)], []);
});

test("the YAML fixtures used against the API server satisfy the TypeScript schemas", async () => {
  const kw = await fixture("whisper-valid.yaml");
  const pbc = await fixture("birth-valid.yaml");
  assert.ok(
    Value.Check(KernelWhisperSpecSchema, kw),
    JSON.stringify([...Value.Errors(KernelWhisperSpecSchema, kw)]),
  );
  if (!Value.Check(PodBirthCertificateSpecSchema, pbc)) assert.fail("birth fixture invalid");
  const typed: PodBirthCertificateSpec = pbc;
  assert.equal(typed.kernelStats.execs, 3);
});

test("the schema rejects what the API server must reject", () => {
  const bad = { signal: "nope" } as unknown;
  assert.equal(Value.Check(KernelWhisperSpecSchema, bad), false);
});
