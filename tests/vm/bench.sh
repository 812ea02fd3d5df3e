#!/bin/sh
# Per-BPF-program cost inside a matrix guest (`./kg vm <id> --bench`, ADR 0060),
# measured the way bench/observer/run.sh measures it on the host (ADR 0056): a
# fixed workload, `perf bench sched pipe` pinned to CPU 0, run REPS times without
# the observer (the baseline) and REPS times with `run --bpf-stats`, interleaved;
# each program's run_time/run_cnt from the observer's /metrics around the loaded
# run. POSIX sh + busybox, so it runs in the guest's initramfs and on the host alike.
# TCG makes absolute figures meaningless: tests/vm/bench.ts reports each program's
# ns/event as a ratio to this run's baseline (ns per pipe round trip).
# Usage: bench.sh OBSERVER LOOPS REPS. Prints, one per line:
#   base <usecs/op>       the workload without the observer
#   with <usecs/op>       the workload with the observer (stats on)
#   prog <name> <ns/event> <events>
set -eu
OBS=$1
LOOPS=$2
REPS=$3
bb=/bin/busybox
WORK=$($bb mktemp -d /tmp/kg-bench.XXXXXX)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; fi
  $bb rm -rf "$WORK"
}
trap cleanup EXIT

pipe_once() {
  $bb taskset -c 0 perf bench sched pipe -l "$LOOPS" 2>/dev/null | $bb awk '/usecs\/op/ {print $1}'
}

# "program run_seconds runs", one line per program, from /metrics.
stats() {
  $bb wget -q -O - "$ADDR/metrics" | $bb awk '
    /^kernel_gossip_bpf_program_run_seconds_total/ { match($0, /program="[^"]*"/); p = substr($0, RSTART + 9, RLENGTH - 10); t[p] = $NF }
    /^kernel_gossip_bpf_program_runs_total/ { match($0, /program="[^"]*"/); p = substr($0, RSTART + 9, RLENGTH - 10); n[p] = $NF }
    END { for (p in n) print p, t[p], n[p] }'
}

start_observer() {
  "$OBS" run --listen 127.0.0.1:0 --bpf-stats >"$WORK/out" 2>"$WORK/err" &
  PID=$!
  # Loading every program takes seconds under TCG: wait up to 5 minutes.
  i=0
  while [ $i -lt 3000 ]; do
    ADDR=$($bb grep -o 'http://[0-9.:]*' "$WORK/out" 2>/dev/null | $bb head -1 || true)
    [ -n "$ADDR" ] && return 0
    kill -0 "$PID" 2>/dev/null || break
    $bb sleep 0.1
    i=$((i + 1))
  done
  echo "bench: observer did not start:" >&2
  $bb cat "$WORK/err" >&2
  exit 1
}

stop_observer() {
  kill -TERM "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
}

r=0
while [ $r -lt "$REPS" ]; do
  echo "base $(pipe_once)"
  start_observer
  $bb sleep 1
  stats >"$WORK/before"
  echo "with $(pipe_once)"
  stats >"$WORK/after"
  # ns/event over the loaded run, for every program that ran in it.
  $bb awk 'NR == FNR { t[$1] = $2; n[$1] = $3; next }
    ($1 in n) && $3 - n[$1] > 0 { printf "prog %s %.1f %d\n", $1, ($2 - t[$1]) * 1e9 / ($3 - n[$1]), $3 - n[$1] }' \
    "$WORK/before" "$WORK/after"
  stop_observer
  r=$((r + 1))
done
