#!/usr/bin/env bash
# Stats benchmark (issue 17, item 5): the cost of resource accounting at scale. BENCH_STATS_PODS
# (100) running pods per runtime, Reaper (handler reaper-v2) vs runc (handler runc), through the
# SAME private containerd with its CRI plugin, polled the way kubelet polls: ListContainerStats
# (`reaperctl stats`, every container of the node) every BENCH_STATS_INTERVAL (10) s.
# A benchmark, not a test: run it on a quiet machine.
#
#   bench/stats.sh                   # markdown report on stdout, progress on stderr
#
# Setup, helpers and teardown come from bench/cri.sh (sourced with BENCH_CRI_LIB=1), pod
# start-up as bench/density.sh. Per runtime, one after the other (the other runtime has no pod
# meanwhile):
#   idle     BENCH_STATS_POLLS x BENCH_STATS_INTERVAL s without polling: the CPU (utime+stime
#            from /proc/<pid>/stat) every shim of this containerd spends idle;
#   polled   BENCH_STATS_POLLS polls, one every BENCH_STATS_INTERVAL s: each poll's wall time
#            (ListContainerStats round trip: containerd asks every shim's Stats), and the shims'
#            CPU over the window. Reported: poll latency median / max, shim CPU per poll (polled
#            minus idle, in ms), and whether every poll listed every container with a nonzero
#            memory working set.
# The interval sleep is the polling period being measured, not a synchronisation.
# Env: BENCH_STATS_PODS, BENCH_STATS_POLLS (6), BENCH_STATS_INTERVAL (10),
#      BENCH_STATS_CONCURRENCY (10), BENCH_STATS_ORDER ("reaper-v2 runc"), BENCH_LOG_LEVEL,
#      BENCH_KEEP=1, REAPER_BIN_DIR, REAPERCTL (as bench/cri.sh).
set -euo pipefail

STATS_SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATS_CMDLINE=""
for v in BENCH_STATS_PODS BENCH_STATS_POLLS BENCH_STATS_INTERVAL BENCH_STATS_CONCURRENCY \
  BENCH_STATS_ORDER BENCH_LOG_LEVEL REAPER_BIN_DIR REAPERCTL; do
  [[ -z ${!v:-} ]] || STATS_CMDLINE+="$v=${!v} "
done
STATS_CMDLINE+="bench/stats.sh"
S_PODS=${BENCH_STATS_PODS:-100}
S_POLLS=${BENCH_STATS_POLLS:-6}
S_INT=${BENCH_STATS_INTERVAL:-10}
D_CONC=${BENCH_STATS_CONCURRENCY:-10}
ORDER=${BENCH_STATS_ORDER:-reaper-v2 runc}
for v in S_PODS S_POLLS S_INT D_CONC; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench/stats.sh: $v must be a positive integer" >&2; exit 2; }
done

set --
BENCH_CRI_LIB=1
# shellcheck source=bench/cri.sh
source "$STATS_SELF/cri.sh"
slog() { printf '[bench-stats %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

declare -A RES=() # "<handler>,<metric>" -> value
CLK_TCK=$(getconf CLK_TCK)

POOL=()
pool_run() {
  local p alive=()
  while :; do
    alive=()
    for p in "${POOL[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
    POOL=("${alive[@]}")
    ((${#POOL[@]} < D_CONC)) && break
    wait -n "${POOL[@]}" 2>/dev/null || true
  done
  "$@" &
  POOL+=($!)
  BG_PIDS+=($!)
}
pool_wait() { local p; for p in "${POOL[@]}"; do wait "$p" 2>/dev/null || true; done; POOL=(); BG_PIDS=(); }
start_pod() {
  local rc=0
  "$REAPERCTL" --runtime-endpoint "unix://$E2E_ADDR" --default-image "$E2E_IMAGE" \
    --log-root "$E2E_DIR/pod-logs" --root "$E2E_DIR/reaperctl" -q run -d --timeout 300 \
    -f "$E2E_DIR/data/$2.yaml" </dev/null >/dev/null 2>"$E2E_DIR/logs/$2.err" || rc=$?
  echo "$rc" >"$E2E_DIR/data/$2.rc"
}
remove_pod() { rctl -q rm -f "$1" >/dev/null 2>>"$E2E_DIR/logs/stats-rm.err" || true; }
running_count() {
  rctl ps 2>/dev/null | awk -v p="$1" 'index($2, p) == 1 && $NF == "c0=Running" { n++ } END { print n + 0 }'
}
all_running() { [[ $(running_count "$1") == "$S_PODS" ]]; }
# shim_ticks: utime+stime of every shim of this containerd, in clock ticks.
shim_ticks() {
  local p s t=0 f
  for p in $(e2e_shim_pids); do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    read -r -a f <<<"$s"
    t=$((t + f[11] + f[12]))
  done
  echo "$t"
}

stats_round() { # <handler>
  local h=$1 prefix i t0 t1 c0 c1 lat=() out ok=1 n listed
  prefix="b-$E2E_RUNID-s-$(short "$h")-"
  for ((i = 1; i <= S_PODS; i++)); do pod_yaml "$E2E_DIR/data/$prefix$i.yaml" "$prefix$i" "$h" '["/bin/sleep", "1000000"]'; done
  slog "$(short "$h"): starting $S_PODS pods, $D_CONC at a time"
  for ((i = 1; i <= S_PODS; i++)); do pool_run start_pod "$h" "$prefix$i"; done
  pool_wait
  wait_until 180 all_running "$prefix" ||
    { record_failure "$h" "only $(running_count "$prefix") of $S_PODS containers Running after 180 s" ""; return 0; }
  slog "$(short "$h"): $S_PODS Running; idle window $((S_POLLS * S_INT)) s"
  c0=$(shim_ticks)
  sleep "$((S_POLLS * S_INT))"
  c1=$(shim_ticks)
  RES[$h,idle_ticks]=$((c1 - c0))
  slog "$(short "$h"): $S_POLLS polls, every $S_INT s"
  c0=$(shim_ticks)
  for ((i = 1; i <= S_POLLS; i++)); do
    t0=$(now_us)
    out=$(rctl stats 2>"$E2E_DIR/logs/stats-$i.err") || { record_failure "$h" "reaperctl stats failed" "$E2E_DIR/logs/stats-$i.err"; ok=0; }
    t1=$(now_us)
    lat+=($((t1 - t0)))
    listed=$(awk -v p="$prefix" 'NR > 1 && $4 > 0 { n++ } END { print n + 0 }' <<<"$out")
    ((listed >= S_PODS)) || ok=0
    ((i == S_POLLS)) || sleep "$((S_INT - (t1 - t0) / 1000000 > 0 ? S_INT - (t1 - t0) / 1000000 : 0))"
  done
  c1=$(shim_ticks)
  RES[$h,poll_ticks]=$((c1 - c0))
  RES[$h,listed_ok]=$ok
  read -r n "RES[$h,lat_p50]" "RES[$h,lat_max]" < <(printf '%s\n' "${lat[@]}" | sort -n | awk '{ x[n++] = $1 }
    END { if (n == 0) print 0, "-", "-"; else printf "%d %d %d\n", n, x[int((n - 1) / 2)], x[n - 1] }')
  slog "$(short "$h"): poll median $((${RES[$h,lat_p50]:-0} / 1000)) ms; shim CPU idle ${RES[$h,idle_ticks]} ticks, polled ${RES[$h,poll_ticks]} ticks"
  for ((i = 1; i <= S_PODS; i++)); do pool_run remove_pod "$prefix$i"; done
  pool_wait
  wait_until 60 no_shims_left || record_failure "$h" "shims still alive 60 s after the removal" ""
}

cpu_ms() { awk -v t="$1" -v k="$CLK_TCK" 'BEGIN { printf "%.0f", t * 1000 / k }'; }
per_poll() { awk -v p="$1" -v i="$2" -v k="$CLK_TCK" -v n="$S_POLLS" 'BEGIN { d = (p - i) * 1000 / k / n; if (d < 0) d = 0; printf "%.1f", d }'; }

report() {
  local r=reaper-v2 c=runc rp cp
  rp=$(per_poll "${RES[$r,poll_ticks]:-0}" "${RES[$r,idle_ticks]:-0}")
  cp=$(per_poll "${RES[$c,poll_ticks]:-0}" "${RES[$c,idle_ticks]:-0}")
  cat <<EOF
# Reaper stats benchmark ($S_PODS running pods, ListContainerStats every $S_INT s)

- Command: \`$STATS_CMDLINE\` (containerd log level $LOG_LEVEL; order: $ORDER; $S_POLLS polls per runtime)
$(bench_machine_lines)

| Metric | reaper | runc | reaper/runc |
|---|---:|---:|---:|
| **ListContainerStats wall time, median** (ms) | $(ms "${RES[$r,lat_p50]:--}") | $(ms "${RES[$c,lat_p50]:--}") | $(ratio "${RES[$r,lat_p50]:--}" "${RES[$c,lat_p50]:--}") |
| ListContainerStats wall time, max (ms) | $(ms "${RES[$r,lat_max]:--}") | $(ms "${RES[$c,lat_max]:--}") | $(ratio "${RES[$r,lat_max]:--}" "${RES[$c,lat_max]:--}") |
| shim CPU, idle window of $((S_POLLS * S_INT)) s, all shims (ms) | $(cpu_ms "${RES[$r,idle_ticks]:-0}") | $(cpu_ms "${RES[$c,idle_ticks]:-0}") | $(ratio "${RES[$r,idle_ticks]:--}" "${RES[$c,idle_ticks]:--}") |
| shim CPU, polled window of the same length (ms) | $(cpu_ms "${RES[$r,poll_ticks]:-0}") | $(cpu_ms "${RES[$c,poll_ticks]:-0}") | $(ratio "${RES[$r,poll_ticks]:--}" "${RES[$c,poll_ticks]:--}") |
| **shim CPU per poll of $S_PODS pods** (polled − idle, ms; tick resolution $((1000 / CLK_TCK)) ms) | $rp | $cp | $(ratio "$rp" "$cp") |
| every poll listed all $S_PODS containers with a working set > 0 | ${RES[$r,listed_ok]:-?} | ${RES[$c,listed_ok]:-?} | - |
EOF
  if [[ -n $FAILURE_REPORT ]]; then
    echo
    echo "## Failures"
    printf '%s\n' "$FAILURE_REPORT"
  fi
}

LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)
trap bench_exit EXIT
trap 'exit 130' INT TERM
cri_start
bench_import_pause_image
slog "reaperctl $REAPERCTL, $S_PODS pods per runtime, order: $ORDER"
for h in $ORDER; do stats_round "$h"; done
report
((${#FAILED[@]} == 0))
