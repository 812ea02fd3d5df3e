#!/usr/bin/env bash
# Birth-capture benchmark (ADR 0016). Prints figures measured in this run,
# each with its same-run baseline:
#   - container start time: wall time of `runc run -d` of a busybox bundle in
#     a kubelet-style cgroup (/kg-bench-*/kubepods/besteffort/pod<uid>/<id>),
#     without the observer and with it capturing (--signals births), in
#     interleaved blocks with the same gap before every start; median and
#     mean of STARTS starts per side and the change of the median with a 95%
#     bootstrap interval (compare.py)
#   - host syscall cost with the observer running and no window open
#     (`perf bench syscall basic`, pinned): must equal the baseline, because
#     no syscall program is attached; the sys_enter link count is printed
#   - per birth: syscalls, namespaces, cgroups, cgroup writes, duration;
#     ns/event of the syscall program while attached
#   - cross-check: syscalls of one start counted by `strace -f -c` vs the
#     birth event of the same start
# Needs root, runc, busybox-static, perf (linux-perf), strace, curl, jq, python3.
# Usage: bench/observer/birth.sh   (env: STARTS=20 BLOCK=5 GAP_MS=1500 OBS_ARGS= SYSCALL_LOOPS=2000000,
#        BIRTHS_OUT=file keeps the birth events of the capture side)
set -euo pipefail
export LC_ALL=C

STARTS=${STARTS:-20}
BLOCK=${BLOCK:-5}
GAP_MS=${GAP_MS:-1500}
# Extra observer flags for the capture side, e.g. OBS_ARGS=--bpf-stats.
OBS_ARGS=${OBS_ARGS:-}
SYSCALL_LOOPS=${SYSCALL_LOOPS:-2000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${KG_CACHE:-/var/cache/kernel-gossip}/cargo-target}
BIN="$CARGO_TARGET_DIR/release/kernel-gossip-observer"
WORK=$(mktemp -d /tmp/kg-birth-bench.XXXXXX)
CGROOT="kg-bench-$$"
OBS_PID=""
ADDR=""

stop_observer() {
  if [[ -n "$OBS_PID" ]] && kill -0 "$OBS_PID" 2>/dev/null; then
    kill -TERM "$OBS_PID" 2>/dev/null || true
    wait "$OBS_PID" 2>/dev/null || true
  fi
  OBS_PID=""
}

cleanup() {
  stop_observer
  for c in $(runc --root "$WORK/state" list -q 2>/dev/null); do
    runc --root "$WORK/state" delete -f "$c" >/dev/null 2>&1 || true
  done
  # Our cgroup tree in every hierarchy, deepest first.
  for h in /sys/fs/cgroup/*/; do
    [[ -d "$h$CGROOT" ]] && find "$h$CGROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in runc perf taskset curl jq strace; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "bench: run as root" >&2; exit 1; }
[[ -x /bin/busybox ]] || { echo "bench: /bin/busybox (busybox-static) missing" >&2; exit 1; }

echo "building release binary ..." >&2
(cd "$ROOT/observer" && cargo build --release --quiet)

# ---- bundle: busybox rootfs + runc spec with limits -----------------------
mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/proc" "$WORK/rootfs/sys" "$WORK/rootfs/dev" "$WORK/state"
cp /bin/busybox "$WORK/rootfs/bin/busybox"
ln -s busybox "$WORK/rootfs/bin/sleep"
(cd "$WORK" && runc spec)
N=0
# Writes $WORK/b<N>/config.json for a fresh pod uid / container id; sets BUNDLE.
BUNDLE=""
new_bundle() {
  N=$((N + 1))
  local uid id dir
  uid=$(cat /proc/sys/kernel/random/uuid)
  id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  dir="$WORK/b$N"
  mkdir -p "$dir"
  jq --arg cg "/$CGROOT/kubepods/besteffort/pod$uid/$id" --arg root "$WORK/rootfs" '
    .process.terminal = false | .process.args = ["/bin/sleep", "600"]
    | .root = {path: $root, readonly: true}
    | .linux.cgroupsPath = $cg
    | .linux.resources.cpu = {quota: 50000, period: 100000}
    | .linux.resources.memory = {limit: 67108864}
    | .linux.resources.pids = {limit: 64}' "$WORK/config.json" >"$dir/config.json"
  BUNDLE=$dir
}

now_ns() { date +%s%N; }

# One start: wall µs of `runc run -d` appended to $1. `runc run -d` returns
# once runc init may exec the entrypoint, not after it did: wait for the exec
# (comm "sleep") so a delete never kills the container before its entrypoint
# ran (the observer would rightly report that birth incomplete).
start_once() {
  local t0 t1 pid i
  new_bundle
  t0=$(now_ns)
  runc --root "$WORK/state" run -d --bundle "$BUNDLE" "c$N" </dev/null >/dev/null 2>&1
  t1=$(now_ns)
  echo $(((t1 - t0) / 1000)) >>"$1"
  pid=$(runc --root "$WORK/state" state "c$N" | jq -r .pid)
  for ((i = 0; i < 100; i++)); do
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == sleep ]] && break
    sleep 0.05
  done
}
delete_last() { runc --root "$WORK/state" delete -f "c$N" >/dev/null 2>&1 || true; }

# The pod cgroup of the last bundle.
pod_of_bundle() {
  local cg
  cg=$(jq -r .linux.cgroupsPath "$BUNDLE/config.json")
  echo "${cg%/*}"
}

# Wait (at most 20 s) for the birth event of the last bundle; append it to $1.
collect_birth() {
  local pod i
  pod=$(pod_of_bundle)
  for ((i = 0; i < 100; i++)); do
    ours_births | jq -c --arg pod "$pod" 'select(.workload.cgroup == $pod)' >"$WORK/one" || true
    if [[ -s "$WORK/one" ]]; then
      cat "$WORK/one" >>"$1"
      return 0
    fi
    sleep 0.2
  done
  echo "bench: no birth event for $pod" >&2
}

start_observer() {
  "$BIN" run --listen 127.0.0.1:0 --signals births --birth-grace-ms 200 \
    --birth-sandbox-grace-ms 200 $OBS_ARGS "$@" >"$WORK/out" 2>"$WORK/err" &
  OBS_PID=$!
  local i
  for ((i = 0; i < 200; i++)); do
    ADDR=$(grep -o 'http://[0-9.:]*' "$WORK/out" 2>/dev/null | head -1 || true)
    [[ -n "$ADDR" ]] && return 0
    sleep 0.1
  done
  echo "bench: observer did not start: $(cat "$WORK/err")" >&2
  exit 1
}

# Birth events of this bench's containers only (a kubelet elsewhere on the
# machine may start pods meanwhile).
ours_births() {
  curl -s "$ADDR/events?since=0" -m 1 | grep '"type":"birth"' |
    jq -c --arg root "/$CGROOT/" 'select(.workload.cgroup | startswith($root))' || true
}
metric() { curl -s "$ADDR/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# sys_enter raw tracepoint links the observer holds (kernel's fdinfo view).
sys_links() {
  local n=0 f
  for f in /proc/"$OBS_PID"/fdinfo/*; do
    grep -q $'tp_name:\tsys_enter$' "$f" 2>/dev/null && n=$((n + 1))
  done
  echo "$n"
}
wait_idle() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ "$(metric kernel_gossip_birth_windows_open)" == "0.0" && "$(sys_links)" == 0 ]] && return 0
    sleep 0.1
  done
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- container start time, interleaved blocks ------------------------------
: >"$WORK/base"
: >"$WORK/capt"
# Both sides leave the same quiet gap before each start (the capture side
# waits for its window to close inside it), so neither starts on the heels of
# the previous container's teardown more often than the other.
last_end=0
mark() { last_end=$(now_ns); }
settle() {
  local left=$(((last_end + GAP_MS * 1000000 - $(now_ns)) / 1000))
  ((left > 0)) && sleep "$(awk -v u="$left" 'BEGIN {printf "%.3f", u / 1e6}')"
  return 0
}
done_starts=0
while ((done_starts < STARTS)); do
  for ((i = 0; i < BLOCK; i++)); do
    settle
    start_once "$WORK/base"
    delete_last
    mark
  done
  start_observer
  for ((i = 0; i < BLOCK; i++)); do
    wait_idle
    settle
    start_once "$WORK/capt"
    collect_birth "$WORK/births" # each start is its own window, closed before the next
    delete_last
    mark
  done
  wait_idle
  stop_observer
  done_starts=$((done_starts + BLOCK))
done
cmp=$(python3 "$ROOT/bench/observer/compare.py" "$WORK/base" "$WORK/capt")
field() { awk -v k="$1" -v i="$2" '$1 == k {print $i}' <<<"$cmp"; }
echo
echo "container start: runc run -d of busybox (µs, $STARTS starts each, blocks of $BLOCK interleaved, ${GAP_MS} ms apart)"
printf "  %-34s median %9s  mean %9s\n" "baseline (no observer)" "$(field median 2)" "$(field mean 2)"
printf "  %-34s median %9s  mean %9s\n" "observer capturing (births)" "$(field median 3)" "$(field mean 3)"
printf "  capture adds %s\n" "$(sed -n 's/^change //p' <<<"$cmp") to the median start"

echo
echo "births of this bench's containers: $(wc -l <"$WORK/births") of $STARTS (median per birth)"
for f in syscalls durationSeconds forks execs; do
  printf "  %-22s %s\n" "$f" "$(jq -r ".evidence.$f" "$WORK/births" | median)"
done
printf "  %-22s %s\n" "namespaces created" "$(jq -r '.evidence.namespacesCreated | [.[]] | add' "$WORK/births" | median)"
printf "  %-22s %s\n" "cgroups created" "$(jq -r '.evidence.cgroupsCreated | length' "$WORK/births" | median)"
printf "  %-22s %s\n" "cgroup files written" "$(jq -r '.evidence.cgroupFilesWritten | length' "$WORK/births" | median)"
printf "  %-22s %s\n" "complete/closeReason" \
  "$(jq -r '"\(.evidence.complete)/\(.evidence.closeReason)"' "$WORK/births" | sort | uniq -c | tr -s ' \n' ' ')"
[[ -n "${BIRTHS_OUT:-}" ]] && cp "$WORK/births" "$BIRTHS_OUT"

# ---- host syscall cost with no window open ---------------------------------
syscall_once() { taskset -c 0 perf bench syscall basic -l "$SYSCALL_LOOPS" 2>/dev/null | awk '/usecs\/op/ {print $1}'; }
echo
echo "host syscalls with no window open (perf bench syscall basic, usecs/op, median of 5 alternating runs)"
: >"$WORK/sc_base"
: >"$WORK/sc_idle"
links_max=0
runs_delta=0
for ((r = 0; r < 5; r++)); do
  syscall_once >>"$WORK/sc_base"
  start_observer --bpf-stats # run counts prove birth_sys_enter did not run
  wait_idle
  runs0=$(curl -s "$ADDR/metrics" | awk '/program="birth_sys_enter"/ && /^kernel_gossip_bpf_program_runs_total/ {print $2}')
  l=$(sys_links)
  ((l > links_max)) && links_max=$l
  syscall_once >>"$WORK/sc_idle"
  runs1=$(curl -s "$ADDR/metrics" | awk '/program="birth_sys_enter"/ && /^kernel_gossip_bpf_program_runs_total/ {print $2}')
  runs_delta=$(awk -v a="$runs_delta" -v x="$runs0" -v y="$runs1" 'BEGIN {print a + y - x}')
  stop_observer
done
base_sc=$(median <"$WORK/sc_base")
obs_sc=$(median <"$WORK/sc_idle")
printf "  %-34s %s\n" "baseline (no observer)" "$base_sc"
printf "  %-34s %s  %+.1f%%\n" "observer idle (births loaded)" "$obs_sc" \
  "$(awk -v a="$base_sc" -v b="$obs_sc" 'BEGIN {print (b - a) / a * 100}')"
echo "  sys_enter links held while idle (max): $links_max; birth_sys_enter runs during the idle runs: $runs_delta"
start_observer --bpf-stats # run counts and times for the ns/event line
wait_idle

# ---- syscall program cost while attached, and a strace cross-check ---------
new_bundle
# strace -f follows the detached container too: give it a short entrypoint.
jq '.process.args = ["/bin/sleep", "1"]' "$BUNDLE/config.json" >"$WORK/short.json"
mv "$WORK/short.json" "$BUNDLE/config.json"
strace -f -c -o "$WORK/strace" runc --root "$WORK/state" run -d --bundle "$BUNDLE" "c$N" </dev/null >/dev/null 2>&1
: >"$WORK/last"
collect_birth "$WORK/last"
runc --root "$WORK/state" delete -f "c$N" >/dev/null 2>&1 || true
m=$(curl -s "$ADDR/metrics")
cnt=$(awk '/program="birth_sys_enter"/ && /^kernel_gossip_bpf_program_runs_total/ {print $2}' <<<"$m")
sec=$(awk '/program="birth_sys_enter"/ && /^kernel_gossip_bpf_program_run_seconds_total/ {print $2}' <<<"$m")
echo
echo "birth_sys_enter while attached: $(awk -v c="$cnt" -v s="$sec" 'BEGIN {if (c > 0) printf "%.1f ns/event over %d events", s * 1e9 / c, c; else print "no runs"}')"
strace_total=$(awk '/total$/ {print $4}' "$WORK/strace")
ours=$(tail -1 "$WORK/last" | jq -r .evidence.syscalls)
echo "cross-check, one start under strace -f -c: strace ${strace_total} syscalls (runc from its exec and" \
  "every child until the entrypoint exits), birth event ${ours} ($(awk -v a="$strace_total" -v b="$ours" \
  'BEGIN {printf "%+.1f%%", (b - a) / a * 100}'))"
