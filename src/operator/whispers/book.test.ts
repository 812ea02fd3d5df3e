import assert from "node:assert/strict";
import { test } from "node:test";
import type { Finding } from "../engine/finding.ts";
import { dirtyEntries, newBook, record, sweep } from "./book.ts";
import { whisperName } from "./names.ts";

const at = (s: number) => new Date(Date.UTC(2026, 10, 25, 10, 0, s));
const finding = (s: number, extra: Partial<Finding> = {}): Finding => ({
  subject: { namespace: "shop", pod: "web-0", container: "app" },
  signal: "cpu-throttling",
  source: "observer",
  observedAt: at(s),
  kernelTruth: {
    window: { start: at(s - 1).toISOString(), end: at(s).toISOString() },
    quantities: [{ name: "throttledPeriodsRatio", value: s / 100, unit: "ratio" }],
  },
  ...extra,
});

test("a flood of findings for one subject coalesces into one dirty entry", () => {
  const book = newBook("kernel-gossip");
  for (let i = 1; i <= 10_000; i++) record(book, finding(i % 50));
  assert.equal(book.entries.size, 1);
  const [e] = dirtyEntries(book);
  assert.ok(e);
  assert.equal(e.occurrences, 10_000);
  assert.equal(e.namespace, "shop");
  assert.equal(e.lastSeen.getTime(), at(49).getTime());
  assert.equal(e.pending.length, 10_000);
});

test("quiet entries resolve; a new finding reactivates with a fresh count", () => {
  const book = newBook("kernel-gossip");
  const e = record(book, finding(1));
  e.dirty = false;
  e.announce = undefined;
  assert.deepEqual(sweep(book, at(30), 60_000), []);
  assert.equal(sweep(book, at(90), 60_000).length, 1);
  assert.equal(e.phase, "Resolved");
  assert.equal(e.announce, "resolved");
  record(book, finding(100));
  assert.equal(e.phase, "Active");
  assert.equal(e.occurrences, 1);
  assert.equal(e.announce, "active");
});

test("a resolved alert resolves the whisper without counting an occurrence", () => {
  const book = newBook("kernel-gossip");
  const e = record(book, finding(1, { source: "alertmanager" }));
  record(book, finding(2, { source: "alertmanager", resolved: true }));
  assert.equal(e.phase, "Resolved");
  assert.equal(e.occurrences, 1);
});

test("non-pod subjects go to the operator's namespace; names are stable DNS labels", () => {
  const book = newBook("kernel-gossip");
  const e = record(
    book,
    finding(1, { subject: { node: "n1", cgroupPath: "/system.slice/Foo_Bar.service" } }),
  );
  assert.equal(e.namespace, "kernel-gossip");
  assert.match(e.name, /^cpu-throttling-foo-bar-service-[0-9a-f]{8}$/);
  const long = whisperName({ namespace: "a", pod: "p".repeat(300) }, "oom-kill");
  assert.ok(long.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(long), long);
  assert.notEqual(
    whisperName({ namespace: "a", pod: "x" }, "oom-kill"),
    whisperName({ namespace: "b", pod: "x" }, "oom-kill"),
  );
});

test("the book stays bounded, forgetting clean resolved entries first", () => {
  const book = newBook("ns", 3);
  for (const pod of ["a", "b", "c"]) {
    const e = record(book, finding(1, { subject: { namespace: "x", pod } }));
    e.dirty = false;
  }
  const b = [...book.entries.values()][1];
  assert.ok(b);
  b.phase = "Resolved";
  record(book, finding(2, { subject: { namespace: "x", pod: "d" } }));
  assert.equal(book.entries.size, 3);
  assert.ok(![...book.entries.values()].some((e) => e.subject.pod === "b"));
});

test("progress reports of one kernel episode count once; a new episode counts again", () => {
  const book = newBook("ns");
  const e = record(book, finding(1, { episode: "2026-11-25T10:00:00Z" }));
  record(book, finding(11, { episode: "2026-11-25T10:00:00Z" }));
  record(book, finding(15, { episode: "2026-11-25T10:00:00Z" }));
  assert.equal(e.occurrences, 1);
  assert.equal(e.lastSeen.getTime(), at(15).getTime());
  record(book, finding(30, { episode: "2026-11-25T10:00:25Z" }));
  assert.equal(e.occurrences, 2);
});
