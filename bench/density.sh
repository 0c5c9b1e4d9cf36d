#!/usr/bin/env bash
# Density benchmark (issue 8, item 10): BENCH_DENSITY_PODS (200) running pods per runtime,
# Reaper (handler reaper-v2) vs runc (handler runc), through the SAME private containerd with
# its CRI plugin, driven by reaperctl. A benchmark, not a test: run it on a quiet machine.
#
#   bench/density.sh                 # markdown report on stdout, progress on stderr
#
# Setup, helpers and teardown come from bench/cri.sh (sourced with BENCH_CRI_LIB=1): the
# private containerd of tests/cri/lib.sh at log level info, both shims and reaperctl copied
# into <tmp>/bin, the pause image (busybox `sleep`), the EXIT trap that removes everything by
# PID. Per runtime, one after the other (the other runtime has no pod meanwhile):
#   start    the pods are launched with `reaperctl run -d` (one process per pod), at most
#            BENCH_DENSITY_CONCURRENCY (10) at a time, like kubelet's parallel pod workers; each
#            pod: hostNetwork, one container `/bin/sleep 1000000`. Per pod, start latency =
#            containerd's log time of "RunPodSandbox for <pod>" (the CRI plugin's entry log) to
#            the container's CRI StartedAt; reported median and p95, and the time from the
#            first launch to the last StartedAt ("all N started").
#   memory   once every container is Running and BENCH_SETTLE (2) s have passed: Rss and Pss
#            from /proc/<pid>/smaps_rollup of every shim process of this containerd, summed,
#            and per pod; the same for the sandbox processes (Reaper's placeholder, runc's
#            pause) and containerd itself (informational).
#   removal  parallel `reaperctl rm -f` (same concurrency), timed (informational); then the
#            shims must all exit.
# Env: BENCH_DENSITY_PODS, BENCH_DENSITY_CONCURRENCY, BENCH_DENSITY_ORDER ("reaper-v2 runc"),
#      BENCH_SETTLE, BENCH_LOG_LEVEL, BENCH_KEEP=1, REAPER_BIN_DIR, REAPERCTL, REAPER_CONTAINERD,
#      BENCH_SUMMARY (as bench/cri.sh).
# Exit status 0 when every pod started and was measured, 1 otherwise.
set -euo pipefail

DENSITY_SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DENSITY_CMDLINE=""
for v in BENCH_DENSITY_PODS BENCH_DENSITY_CONCURRENCY BENCH_DENSITY_ORDER BENCH_SETTLE \
  BENCH_LOG_LEVEL REAPER_BIN_DIR REAPERCTL; do
  [[ -z ${!v:-} ]] || DENSITY_CMDLINE+="$v=${!v} "
done
DENSITY_CMDLINE+="bench/density.sh"
D_PODS=${BENCH_DENSITY_PODS:-200}
D_CONC=${BENCH_DENSITY_CONCURRENCY:-10}
ORDER=${BENCH_DENSITY_ORDER:-reaper-v2 runc}
BENCH_SETTLE=${BENCH_SETTLE:-2}
for v in D_PODS D_CONC; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench/density.sh: $v must be a positive integer" >&2; exit 2; }
done

set --
BENCH_CRI_LIB=1
# shellcheck source=bench/cri.sh
source "$DENSITY_SELF/cri.sh"
dlog() { printf '[bench-density %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

declare -A RES=() # "<handler>,<metric>" -> value

# pool_run CMD...: start CMD in the background once fewer than D_CONC jobs of the pool run.
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
# pool_wait: wait for every job of the pool (jobs record their own status).
pool_wait() { local p; for p in "${POOL[@]}"; do wait "$p" 2>/dev/null || true; done; POOL=(); BG_PIDS=(); }

start_pod() { # <handler> <pod>: reaperctl run -d, status into data/<pod>.rc
  local rc=0
  "$REAPERCTL" --runtime-endpoint "unix://$E2E_ADDR" --default-image "$E2E_IMAGE" \
    --log-root "$E2E_DIR/pod-logs" --root "$E2E_DIR/reaperctl" -q run -d --timeout 300 \
    -f "$E2E_DIR/data/$2.yaml" </dev/null >/dev/null 2>"$E2E_DIR/logs/$2.err" || rc=$?
  echo "$rc" >"$E2E_DIR/data/$2.rc"
}
remove_pod() { rctl -q rm -f "$1" >/dev/null 2>>"$E2E_DIR/logs/density-rm.err" || echo "rm $1 failed" >>"$E2E_DIR/logs/density-rm.err"; }

running_count() { # <prefix>: pods of the prefix whose container is Running
  rctl ps 2>/dev/null | awk -v p="$1" 'index($2, p) == 1 && $NF == "c0=Running" { n++ } END { print n + 0 }'
}
all_running() { [[ $(running_count "$1") == "$D_PODS" ]]; }

# sum_smaps PID...: "RSS PSS" in kB summed over the processes
sum_smaps() {
  local p a b c d r=0 s=0
  for p in "$@"; do
    read -r a b c d < <(smaps_of "$p") || continue
    r=$((r + a)) s=$((s + b))
  done
  echo "$r $s"
}

density_round() { # <handler>
  local h=$1 prefix i pod t0 lat rc bad=0 n sbpid
  local started maxstart=0 rps shims=() sbs=() sb_what t_rm rss pss ourshims p
  prefix="b-$E2E_RUNID-d-$(short "$h")-" lat=$E2E_DIR/data/lat-$(short "$h")
  : >"$lat"
  for ((i = 1; i <= D_PODS; i++)); do pod_yaml "$E2E_DIR/data/$prefix$i.yaml" "$prefix$i" "$h" '["/bin/sleep", "1000000"]'; done
  dlog "$(short "$h"): starting $D_PODS pods, $D_CONC at a time"
  t0=$(now_us)
  for ((i = 1; i <= D_PODS; i++)); do pool_run start_pod "$h" "$prefix$i"; done
  pool_wait
  RES[$h,run_all]=$(($(now_us) - t0))
  for ((i = 1; i <= D_PODS; i++)); do
    rc=$(cat "$E2E_DIR/data/$prefix$i.rc" 2>/dev/null || echo missing)
    [[ $rc == 0 ]] || { bad=$((bad + 1)); record_failure "$h" "pod $prefix$i: reaperctl run -d exit $rc" "$E2E_DIR/logs/$prefix$i.err"; }
  done
  ((bad == 0)) || return 0
  wait_until 120 all_running "$prefix" ||
    { record_failure "$h" "only $(running_count "$prefix") of $D_PODS containers Running after 120 s" ""; return 0; }
  sleep "$BENCH_SETTLE" # memory settles (not a synchronisation: every container is Running)
  for ((i = 1; i <= D_PODS; i++)); do
    pod=$prefix$i
    read -r sbpid started < <(rctl inspect "$pod" | awk '
      { for (j = 2; j <= NF; j++) { k = $j; sub(/=.*/, "", k); v[$1, k] = substr($j, length(k) + 2) } }
      END { print v["pod", "pid"], v["container", "started"] }') || true
    [[ ${sbpid:-0} =~ ^[1-9][0-9]*$ ]] && sbs+=("$sbpid")
    rps=$(rps_log_us "$pod") || { record_failure "$h" "no RunPodSandbox log line for $pod" ""; continue; }
    [[ $started =~ ^[1-9][0-9]*$ ]] || { record_failure "$h" "pod $pod: no StartedAt" ""; continue; }
    echo "$((started / 1000 - rps))" >>"$lat"
    ((started / 1000 > maxstart)) && maxstart=$((started / 1000))
  done
  RES[$h,all_started]=$((maxstart - t0))
  # Memory: the shims serving these pods = the parents of their sandbox processes, each checked
  # to be a shim of this containerd (only this runtime's pods exist now).
  ourshims=" $(e2e_shim_pids | tr '\n' ' ') "
  mapfile -t shims < <(for p in "${sbs[@]}"; do ppid_of "$p"; done | sort -un)
  for p in "${shims[@]}"; do
    [[ $ourshims == *" $p "* ]] || record_failure "$h" "parent $p of a sandbox process is no shim of this containerd" ""
  done
  RES[$h,allshims]=$(wc -w <<<"$ourshims")
  read -r rss pss < <(sum_smaps "${shims[@]}")
  RES[$h,shims]=${#shims[@]} RES[$h,shim_rss]=$rss RES[$h,shim_pss]=$pss
  RES[$h,shim_threads]=$(for p in "${shims[@]}"; do awk '/^Threads:/ { print $2 }' "/proc/$p/status"; done | awk '{ s += $1 } END { print s + 0 }')
  read -r rss pss < <(sum_smaps "${sbs[@]}")
  RES[$h,sb_rss]=$rss RES[$h,sb_pss]=$pss
  sb_what=$(tr '\0' ' ' <"/proc/${sbs[0]}/cmdline" | cut -c1-40 | sed 's/ *$//') || sb_what="?"
  RES[$h,sb_what]=$sb_what
  read -r rss pss < <(sum_smaps "$E2E_CONTAINERD_PID")
  RES[$h,ctrd_rss]=$rss
  read -r n "RES[$h,lat_p50]" "RES[$h,lat_p95]" < <(sort -n "$lat" | awk '{ x[n++] = $1 }
    function q(p,   h, lo) { h = (n - 1) * p; lo = int(h); return (lo + 1 < n) ? x[lo] + (h - lo) * (x[lo + 1] - x[lo]) : x[lo] }
    END { if (n == 0) print 0, "-", "-"; else printf "%d %.0f %.0f\n", n, q(.5), q(.95) }')
  RES[$h,lat_n]=$n
  dlog "$(short "$h"): $D_PODS Running; all started $((RES[$h,all_started] / 1000)) ms after the first launch; latency median $((${RES[$h,lat_p50]:-0} / 1000)) ms, p95 $((${RES[$h,lat_p95]:-0} / 1000)) ms; ${#shims[@]} shim(s): RSS ${RES[$h,shim_rss]} kB, PSS ${RES[$h,shim_pss]} kB"
  t_rm=$(now_us)
  for ((i = 1; i <= D_PODS; i++)); do pool_run remove_pod "$prefix$i"; done
  pool_wait
  RES[$h,rm_all]=$(($(now_us) - t_rm))
  if [[ -s $E2E_DIR/logs/density-rm.err ]]; then record_failure "$h" "pod removal" "$E2E_DIR/logs/density-rm.err"; fi
  wait_until 60 no_shims_left || record_failure "$h" "shims still alive 60 s after the removal: $(e2e_shim_pids | tr '\n' ' ')" ""
}

# ---------------------------------------------------------------------------

kb() { awk -v k="$1" 'BEGIN { if (k == "" || k == "-") print "-"; else printf "%.1f MiB", k / 1024 }'; }
perpod() { awk -v k="$1" -v n="$D_PODS" 'BEGIN { if (k == "" || k == "-") print "-"; else printf "%d kB", k / n }'; }

report() {
  local r=reaper-v2 c=runc h
  for h in $ORDER; do
    summary "density_$(short "$h")_shim_pss" "${RES[$h,shim_pss]:-}"
    summary "density_$(short "$h")_total_pss" "$((${RES[$h,shim_pss]:-0} + ${RES[$h,sb_pss]:-0}))"
    summary "density_$(short "$h")_lat_p50" "$(ms "${RES[$h,lat_p50]:--}")"
    summary "density_$(short "$h")_all_started" "${RES[$h,all_started]:-}"
  done
  summary density_pods "$D_PODS"
  cat <<EOF
# Reaper density benchmark ($D_PODS running pods)

- Command: \`$DENSITY_CMDLINE\` (containerd log level $LOG_LEVEL; order: $ORDER; $D_CONC pods started at a time)
$(bench_machine_lines)

| Metric | reaper | runc | reaper/runc |
|---|---:|---:|---:|
| shim processes / threads serving the $D_PODS pods (all shims of this containerd) | ${RES[$r,shims]:-?} / ${RES[$r,shim_threads]:-?} (${RES[$r,allshims]:-?}) | ${RES[$c,shims]:-?} / ${RES[$c,shim_threads]:-?} (${RES[$c,allshims]:-?}) | - |
| **shim RSS, total** ($D_PODS pods) | $(kb "${RES[$r,shim_rss]:-}") | $(kb "${RES[$c,shim_rss]:-}") | $(ratio "${RES[$r,shim_rss]:--}" "${RES[$c,shim_rss]:--}") |
| shim RSS per pod | $(perpod "${RES[$r,shim_rss]:-}") | $(perpod "${RES[$c,shim_rss]:-}") | - |
| **shim PSS, total** | $(kb "${RES[$r,shim_pss]:-}") | $(kb "${RES[$c,shim_pss]:-}") | $(ratio "${RES[$r,shim_pss]:--}" "${RES[$c,shim_pss]:--}") |
| shim PSS per pod | $(perpod "${RES[$r,shim_pss]:-}") | $(perpod "${RES[$c,shim_pss]:-}") | - |
| sandbox processes PSS, total (reaper: \`${RES[$r,sb_what]:-?}\`; runc: \`${RES[$c,sb_what]:-?}\`) | $(kb "${RES[$r,sb_pss]:-}") | $(kb "${RES[$c,sb_pss]:-}") | $(ratio "${RES[$r,sb_pss]:--}" "${RES[$c,sb_pss]:--}") |
| shim + sandbox PSS per pod | $(perpod "$((${RES[$r,shim_pss]:-0} + ${RES[$r,sb_pss]:-0}))") | $(perpod "$((${RES[$c,shim_pss]:-0} + ${RES[$c,sb_pss]:-0}))") | $(ratio "$((${RES[$r,shim_pss]:-0} + ${RES[$r,sb_pss]:-0}))" "$((${RES[$c,shim_pss]:-0} + ${RES[$c,sb_pss]:-0}))") |
| containerd RSS with $D_PODS pods (informational) | $(kb "${RES[$r,ctrd_rss]:-}") | $(kb "${RES[$c,ctrd_rss]:-}") | $(ratio "${RES[$r,ctrd_rss]:--}" "${RES[$c,ctrd_rss]:--}") |
| **start latency** RunPodSandbox → container StartedAt, median (ms) | $(ms "${RES[$r,lat_p50]:--}") | $(ms "${RES[$c,lat_p50]:--}") | $(ratio "${RES[$r,lat_p50]:--}" "${RES[$c,lat_p50]:--}") |
| start latency, p95 (ms) | $(ms "${RES[$r,lat_p95]:--}") | $(ms "${RES[$c,lat_p95]:--}") | $(ratio "${RES[$r,lat_p95]:--}" "${RES[$c,lat_p95]:--}") |
| **all $D_PODS started**: first launch → last StartedAt (s) | $(awk -v v="${RES[$r,all_started]:-}" 'BEGIN { print v == "" ? "-" : sprintf("%.1f", v / 1e6) }') | $(awk -v v="${RES[$c,all_started]:-}" 'BEGIN { print v == "" ? "-" : sprintf("%.1f", v / 1e6) }') | $(ratio "${RES[$r,all_started]:--}" "${RES[$c,all_started]:--}") |
| removal of $D_PODS pods, $D_CONC at a time (s, informational) | $(awk -v v="${RES[$r,rm_all]:-}" 'BEGIN { print v == "" ? "-" : sprintf("%.1f", v / 1e6) }') | $(awk -v v="${RES[$c,rm_all]:-}" 'BEGIN { print v == "" ? "-" : sprintf("%.1f", v / 1e6) }') | $(ratio "${RES[$r,rm_all]:--}" "${RES[$c,rm_all]:--}") |
| latency samples | ${RES[$r,lat_n]:-0}/$D_PODS | ${RES[$c,lat_n]:-0}/$D_PODS | - |
EOF
  if [[ -n $FAILURE_REPORT ]]; then
    echo
    echo "## Failures"
    printf '%s\n' "$FAILURE_REPORT"
  fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
trap bench_exit EXIT
trap 'exit 130' INT TERM
cri_start
bench_import_pause_image
dlog "reaperctl $REAPERCTL, $D_PODS pods per runtime, order: $ORDER"
for h in $ORDER; do density_round "$h"; done
report
((${#FAILED[@]} == 0))
