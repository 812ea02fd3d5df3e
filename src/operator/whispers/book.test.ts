import assert from "node:assert/strict";
import { test } from "node:test";
import type { Finding } from "../engine/finding.ts";
import { admits, dirtyEntries, newBook, record as recordOrFull, sweep, type Book } from "./book.ts";
import { whisperName } from "./names.ts";

/** Records into a book that has room (every test below but the full-book one). */
const record = (book: Book, f: Finding) => {
  const e = recordOrFull(book, f);
  assert.ok(e, "the book had no room");
  return e;
};

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
  // Memory per entry does not grow with findings: the earliest unwritten time and a count.
  assert.equal(e.pendingCount, 10_000);
  assert.equal(e.pendingSince, at(0).getTime());
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

test("a book full of unwritten entries takes no new subject; known subjects still fold in", () => {
  const book = newBook("ns", 2);
  record(book, finding(1, { subject: { namespace: "x", pod: "a" } }));
  record(book, finding(1, { subject: { namespace: "x", pod: "b" } }));
  const c = finding(2, { subject: { namespace: "x", pod: "c" } });
  assert.equal(admits(book, [c]), false);
  assert.equal(recordOrFull(book, c), undefined);
  assert.equal(book.entries.size, 2);
  const again = finding(3, { subject: { namespace: "x", pod: "a" } });
  assert.equal(admits(book, [again]), true);
  assert.equal(record(book, again).occurrences, 2);
  // Once one is written (clean), it may be forgotten to make room.
  const [first] = book.entries.values();
  assert.ok(first);
  first.dirty = false;
  assert.equal(admits(book, [c]), true);
  assert.ok(recordOrFull(book, c));
});

test("drops with different reasons are different whispers", () => {
  const book = newBook("ns");
  const drop = (reason: string) =>
    finding(1, { signal: "packet-drops", reason, subject: { node: "n", cgroupPath: "/web" } });
  const a = record(book, drop("NO_SOCKET"));
  const b = record(book, drop("NETFILTER_DROP"));
  assert.notEqual(a.key, b.key);
  assert.notEqual(a.name, b.name);
  assert.match(a.name, /^packet-drops-web-no-socket-[0-9a-f]{8}$/);
  // Without a reason, names are what they always were.
  assert.equal(
    whisperName({ namespace: "a", pod: "x" }, "oom-kill"),
    whisperName({ namespace: "a", pod: "x" }, "oom-kill", undefined),
  );
});
