#!/usr/bin/env bash
# Idle CPU of the observer against the number of cgroups on the node. The
# sampler reads each workload cgroup's cpu.stat/memory files once a second, so
# idle cost grows with pods, not with events: this prints the observer's own CPU
# (its threads' schedstat) while idle and scraped every 5 s, first on the host
# as it is (the baseline, same run), then with PODS extra pod-like cgroups
# (kubelet cgroupfs paths, no limits, no tasks — the common case on a node).
# Needs root. Usage: bench/observer/idle.sh   (env: PODS=150 SECONDS_IDLE=30;
# OBSERVER_BIN=path measures another build, e.g. an older commit's, instead)
set -eEuo pipefail
PODS=${PODS:-150}
SECONDS_IDLE=${SECONDS_IDLE:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${KG_CACHE:-/var/cache/kernel-gossip}/cargo-target}
BIN=${OBSERVER_BIN:-"$CARGO_TARGET_DIR/release/kernel-gossip-observer"}
WORK=$(mktemp -d /tmp/kg-idle.XXXXXX)
OBS_PID=""
DIRS=()

cleanup() {
  if [[ -n "$OBS_PID" ]]; then kill -TERM "$OBS_PID" 2>/dev/null || true; wait "$OBS_PID" 2>/dev/null || true; fi
  local d
  for ((i = ${#DIRS[@]} - 1; i >= 0; i--)); do rmdir "${DIRS[$i]}" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "idle bench: failed at line $LINENO" >&2' ERR
[[ $(id -u) == 0 ]] || { echo "idle bench: run as root" >&2; exit 1; }

if [[ -z "${OBSERVER_BIN:-}" ]]; then
  echo "building release binary ..." >&2
  (cd "$ROOT/observer" && cargo build --release --quiet)
fi

cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }

# The cgroup roots the observer samples: v2 unified, or the v1 cpu and memory hierarchies.
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  ROOTS=(/sys/fs/cgroup)
else
  ROOTS=(/sys/fs/cgroup/cpu /sys/fs/cgroup/memory)
fi

idle_cpu() {
  "$BIN" run --listen 127.0.0.1:0 >"$WORK/out" 2>"$WORK/err" &
  OBS_PID=$!
  local addr="" i
  for ((i = 0; i < 100; i++)); do
    addr=$(grep -o 'http://[0-9.:]*' "$WORK/out" 2>/dev/null | head -1 || true)
    [[ -n "$addr" ]] && break
    sleep 0.1
  done
  [[ -n "$addr" ]] || { echo "idle bench: observer did not start" >&2; cat "$WORK/err" >&2; exit 1; }
  sleep 3 # past start-up (BTF, program loads, first cgroup walk)
  local t0 s0 t1 s1
  t0=$(cpu_ns "$OBS_PID"); s0=$(date +%s.%N)
  for ((i = 0; i < SECONDS_IDLE; i += 5)); do curl -s "$addr/metrics" >/dev/null; sleep 5; done
  t1=$(cpu_ns "$OBS_PID"); s1=$(date +%s.%N)
  kill -TERM "$OBS_PID"; wait "$OBS_PID" 2>/dev/null || true; OBS_PID=""
  awk -v a="$t0" -v b="$t1" -v s0="$s0" -v s1="$s1" 'BEGIN {printf "%.3f", 100 * (b - a) / 1e9 / (s1 - s0)}'
}

count_dirs() { find "${ROOTS[@]}" -mindepth 1 -type d 2>/dev/null | wc -l; }

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
BASE_DIRS=$(count_dirs)
BASE=$(idle_cpu)
for r in "${ROOTS[@]}"; do
  DIRS+=("$r/kg-idle-bench" "$r/kg-idle-bench/kubepods")
  mkdir -p "$r/kg-idle-bench/kubepods"
  for ((p = 0; p < PODS; p++)); do
    d="$r/kg-idle-bench/kubepods/pod$(printf '%08x-0000-4000-8000-%012x' "$p" "$p")"
    mkdir "$d"; DIRS+=("$d")
  done
done
WITH_DIRS=$(count_dirs)
WITH=$(idle_cpu)

echo
echo "observer: $BIN"
echo "kernel: $(uname -r)   cgroup roots: ${ROOTS[*]}   idle ${SECONDS_IDLE}s, scraped every 5 s   load avg before: $LOADAVG"
printf '  %-44s %s%% of one core\n' "observer idle, host as is ($BASE_DIRS cgroups)" "$BASE"
printf '  %-44s %s%% of one core\n' "observer idle, +$PODS pod cgroups ($WITH_DIRS)" "$WITH"
