#!/usr/bin/env bash
# Observer overhead benchmark. Prints figures measured in this run, with the
# baseline from the same run:
#   - `perf bench sched pipe` (context-switch heavy, pinned to one CPU)
#     without the observer, with it (default, BPF stats off), with it but
#     without run-queue attribution (who stole my CPU, ADR 0095: the
#     attribution's own baseline) and with --bpf-stats; median of REPS runs
#     each, interleaved
#   - per-BPF-program ns/event from the kernel's BPF stats under that load,
#     with attribution on and off
#   - observer RSS and CPU while idle (scraped every 5 s) and under load
# Needs root, perf (Debian linux-perf), taskset, curl.
# Usage: bench/observer/run.sh   (env: REPS=5 LOOPS=200000 IDLE_SECONDS=15)
set -eEuo pipefail
# sort and join must agree on order (program names contain underscores).
export LC_ALL=C

REPS=${REPS:-5}
LOOPS=${LOOPS:-200000}
IDLE_SECONDS=${IDLE_SECONDS:-15}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${KG_CACHE:-/var/cache/kernel-gossip}/cargo-target}
BIN="$CARGO_TARGET_DIR/release/kernel-gossip-observer"
WORK=$(mktemp -d /tmp/kg-bench.XXXXXX)
OBS_PID=""

cleanup() {
  if [[ -n "$OBS_PID" ]] && kill -0 "$OBS_PID" 2>/dev/null; then
    kill -TERM "$OBS_PID" 2>/dev/null || true
    wait "$OBS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
# set -e stops silently; say where, and what the observer said if it died.
on_error() {
  echo "bench: failed at line $1 (exit $2)" >&2
  if [[ -n "$OBS_PID" ]] && ! kill -0 "$OBS_PID" 2>/dev/null; then
    echo "bench: the observer (pid $OBS_PID) is gone; its stderr:" >&2
    tail -20 "$WORK/err" >&2
  fi
}
trap 'on_error $LINENO $?' ERR

for tool in perf taskset curl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "bench: run as root" >&2; exit 1; }

echo "building release binary ..." >&2
(cd "$ROOT/observer" && cargo build --release --quiet)

# usecs/op of one pinned sched-pipe run
pipe_once() {
  taskset -c 0 perf bench sched pipe -l "$LOOPS" 2>/dev/null | awk '/usecs\/op/ {print $1}'
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }


# CPU time of all threads of a pid, in ns (schedstat: exact, unlike clock ticks)
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

start_observer() {
  "$BIN" run --listen 127.0.0.1:0 "$@" >"$WORK/out" 2>"$WORK/err" &
  OBS_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    ADDR=$(grep -o 'http://[0-9.:]*' "$WORK/out" 2>/dev/null | head -1 || true)
    [[ -n "$ADDR" ]] && return 0
    sleep 0.1
  done
  echo "bench: observer did not start:" >&2
  cat "$WORK/err" >&2
  exit 1
}

stop_observer() {
  if ! kill -0 "$OBS_PID" 2>/dev/null; then
    echo "bench: the observer (pid $OBS_PID) exited before it was stopped; its stderr:" >&2
    tail -20 "$WORK/err" >&2
    exit 1
  fi
  kill -TERM "$OBS_PID"
  wait "$OBS_PID" 2>/dev/null || true
  OBS_PID=""
}

# "program run_seconds runs" lines from /metrics
prog_stats() {
  curl -s "$ADDR/metrics" | awk '
    /^kernel_gossip_bpf_program_run_seconds_total/ { match($0, /program="[^"]*"/); p = substr($0, RSTART + 9, RLENGTH - 10); t[p] = $NF }
    /^kernel_gossip_bpf_program_runs_total/ { match($0, /program="[^"]*"/); p = substr($0, RSTART + 9, RLENGTH - 10); n[p] = $NF }
    END { for (p in n) print p, t[p], n[p] }' | sort -k1,1
}

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
# Baseline and observer runs are interleaved, one of each per repetition, so
# background load that drifts during the bench hits all three alike.
BASES=(); NOSTATS_RUNS=(); NOATTR_RUNS=(); WITH=()
: >"$WORK/ns"
# One pipe run with BPF stats on; per-program ns/event appended to $WORK/ns,
# program names suffixed with $1 (" (no attribution)" or "").
stats_run() {
  prog_stats >"$WORK/before"
  WITH+=("$(pipe_once)")
  prog_stats >"$WORK/after"
  join "$WORK/before" "$WORK/after" | awk -v tag="$1" '{dn = $5 - $3; if (dn > 0) printf "%s%s %.1f %d\n", $1, tag, ($4 - $2) * 1e9 / dn, dn}' >>"$WORK/ns"
}
for ((r = 0; r < REPS; r++)); do
  echo "== repetition $((r + 1))/$REPS: baseline, observer (default), without attribution, --bpf-stats with and without" >&2
  BASES+=("$(pipe_once)")
  start_observer
  sleep 0.5
  NOSTATS_RUNS+=("$(pipe_once)")
  stop_observer
  start_observer --runqueue-attribution=false
  sleep 0.5
  NOATTR_RUNS+=("$(pipe_once)")
  stop_observer
  start_observer --bpf-stats
  sleep 0.5
  stats_run ""
  stop_observer
  start_observer --bpf-stats --runqueue-attribution=false
  sleep 0.5
  stats_run "_noattr"
  stop_observer
done
BASE=$(printf '%s\n' "${BASES[@]}" | median)
NOSTATS=$(printf '%s\n' "${NOSTATS_RUNS[@]}" | median)
NOATTR=$(printf '%s\n' "${NOATTR_RUNS[@]}" | median)
# Both --bpf-stats runs of every repetition.
STATS=$(printf '%s\n' "${WITH[@]}" | median)

echo "== observer process: idle ${IDLE_SECONDS}s, then under load" >&2
start_observer
sleep 1
RSS_START=$(rss_kib "$OBS_PID")
# idle: Prometheus-like scrapes every 5 s
T0=$(cpu_ns "$OBS_PID"); S0=$(date +%s.%N)
for ((i = 0; i < IDLE_SECONDS; i += 5)); do curl -s "$ADDR/metrics" >/dev/null; sleep 5; done
T1=$(cpu_ns "$OBS_PID"); S1=$(date +%s.%N)
RSS_IDLE=$(rss_kib "$OBS_PID")
IDLE_CPU=$(awk -v a="$T0" -v b="$T1" -v s0="$S0" -v s1="$S1" 'BEGIN {printf "%.3f", 100 * (b - a) / 1e9 / (s1 - s0)}')
L0=$(cpu_ns "$OBS_PID"); LS0=$(date +%s.%N)
for ((r = 0; r < REPS; r++)); do pipe_once >/dev/null; curl -s "$ADDR/metrics" >/dev/null; done
L1=$(cpu_ns "$OBS_PID"); LS1=$(date +%s.%N)
RSS_LOAD=$(rss_kib "$OBS_PID")
LOAD_CPU=$(awk -v a="$L0" -v b="$L1" -v s0="$LS0" -v s1="$LS1" 'BEGIN {printf "%.3f", 100 * (b - a) / 1e9 / (s1 - s0)}')
stop_observer

slow() { awk -v b="$BASE" -v w="$1" 'BEGIN {printf "%+.1f%%", 100 * (w - b) / b}'; }

echo
echo "kernel: $(uname -r)   cpus: $(nproc)   loops: $LOOPS   reps: $REPS   load avg before: $LOADAVG"
echo
echo "sched pipe (usecs/op, median; lower is better)"
printf '  %-36s %8s\n' "baseline (no observer)" "$BASE"
printf '  %-36s %8s  %s\n' "observer, bpf stats off (default)" "$NOSTATS" "$(slow "$NOSTATS")"
printf '  %-36s %8s  %s\n' "observer, no attribution" "$NOATTR" "$(slow "$NOATTR")"
printf '  %-36s %8s  %s\n' "observer, --bpf-stats" "$STATS" "$(slow "$STATS")"
echo
echo "BPF programs under load (ns/event: median over $REPS runs of run_time/run_cnt; _noattr: --runqueue-attribution=false)"
printf '  %-26s %10s %14s\n' program ns/event events/run
for p in $(awk '{print $1}' "$WORK/ns" | sort -u); do
  NS=$(awk -v p="$p" '$1 == p {print $2}' "$WORK/ns" | median)
  EV=$(awk -v p="$p" '$1 == p {print $3}' "$WORK/ns" | median)
  printf '  %-26s %10.1f %14.0f\n' "$p" "$NS" "$EV"
done
echo
echo "observer process"
printf '  %-36s %s MiB\n' "RSS after start" "$(awk -v k="$RSS_START" 'BEGIN {printf "%.1f", k / 1024}')"
printf '  %-36s %s MiB\n' "RSS idle (after ${IDLE_SECONDS}s, scraped)" "$(awk -v k="$RSS_IDLE" 'BEGIN {printf "%.1f", k / 1024}')"
printf '  %-36s %s MiB\n' "RSS after load" "$(awk -v k="$RSS_LOAD" 'BEGIN {printf "%.1f", k / 1024}')"
printf '  %-36s %s%% of one core\n' "CPU idle (scrape every 5 s)" "$IDLE_CPU"
printf '  %-36s %s%% of one core\n' "CPU during sched-pipe load (+scrapes)" "$LOAD_CPU"
echo "  (BPF program time runs in the traced tasks' context; it is in the ns/event table, not here)"
