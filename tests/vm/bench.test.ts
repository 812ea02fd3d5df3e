// bench.ts's reading of bench.sh's output (ADR 0060): medians across repetitions,
// and a run that printed no workload figures is an error, never a zero.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBench } from "./bench.ts";

test("medians of the workload and of each program across repetitions", () => {
  const out = [
    "base 100.0",
    "with 110.0",
    "prog runqlat_switch 900.0 4000",
    "prog birth_exec 5000.0 2",
    "base 120.0",
    "with 130.0",
    "prog runqlat_switch 1100.0 4200",
    "base 80.0",
    "with 150.0",
    "prog runqlat_switch 1000.0 4100",
    "",
  ].join("\n");
  const b = parseBench(out, "guest", 20000, 3);
  assert.equal(b.baseUs, 100);
  assert.equal(b.withUs, 130);
  assert.deepEqual(b.programs, [
    { program: "birth_exec", nsPerEvent: 5000, eventsPerRun: 2 },
    { program: "runqlat_switch", nsPerEvent: 1000, eventsPerRun: 4100 },
  ]);
});

test("output without workload figures is an error naming where", () => {
  assert.throws(() => parseBench("bench: observer did not start\n", "6.1", 1, 1), /bench in 6\.1/);
  assert.throws(() => parseBench("base \nwith 3\n", "6.1", 1, 1), /no workload figures/);
});
