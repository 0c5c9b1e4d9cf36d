#!/usr/bin/env bash
# Every benchmark in one run, Reaper side by side with runc through the same containerd, on
# containerd 1.6 (Debian's) and 2.3 (the main version), with one combined markdown report
# (issue 18; docs/benchmarks.md "Everything in one run").
#
#   bench/all.sh                         # as root; report on stdout and in <out>/report.md
#   BENCH_QUICK=1 bench/all.sh           # a few runs of everything: checks the set-up, not numbers
#   BENCH_ALL_CONTAINERDS=2.3 BENCH_ALL_SUITES="run cri" bench/all.sh
#
# Per containerd, one after the other (each script starts and removes its own private
# containerd in /tmp; none touches the system's):
#   run      bench/run.sh latency memory throughput: `ctr run --rm` of reaper, runc and the
#            floor shim (bench/floor) alternated, shim RSS/PSS, 1 GiB on stdout;
#   cri      bench/cri.sh latency parallel memory privileges: pod start, BENCH_CRI_PODS (20)
#            pods in parallel, shim and pod memory per pod, the privileges row;
#   density  bench/density.sh: BENCH_DENSITY_PODS (100 here, the script's own default is 200)
#            running pods per runtime, their PSS and start latency.
# Every sub-report is kept in <out>/<containerd>-<suite>.md (stderr in .log) and included
# in the combined report after a headline table with the issue's targets.
#
# Env: BENCH_ALL_CONTAINERDS ("1.6 2.3"), BENCH_ALL_SUITES ("run cri density"),
#      BENCH_ALL_OUT (directory for the reports; default /tmp/reaper-bench-all.<date>, kept),
#      BENCH_QUICK=1 (small defaults for every knob below, to check that everything works),
#      REAPER_PEERS_DIR (where tests/peers/build.sh keeps containerd 2.3), REAPER_BIN_DIR.
#      Defaults passed to the scripts unless already set: BENCH_RUNS 30, BENCH_TP_RUNS 3,
#      BENCH_CRI_RUNS 20, BENCH_CRI_PODS 20, BENCH_CRI_ROUNDS 3, BENCH_CRI_MEM_ROUNDS 3,
#      BENCH_DENSITY_PODS 100; with BENCH_QUICK=1: BENCH_RUNS 5, BENCH_WARMUP 1, BENCH_TP_RUNS 1,
#      BENCH_TP_BASE_RUNS 1, BENCH_TP_BYTES 64 MiB, BENCH_CRI_RUNS 3, BENCH_CRI_WARMUP 1,
#      BENCH_CRI_ROUNDS 1, BENCH_CRI_MEM_ROUNDS 1, BENCH_DENSITY_PODS 10. Any other knob of
#      the three scripts passes through from the environment.
# Exit status 0 when every script exited 0, 1 otherwise (the report says which).
set -euo pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SELF/.." && pwd)
CMDLINE=""
for v in BENCH_QUICK BENCH_ALL_CONTAINERDS BENCH_ALL_SUITES BENCH_ALL_OUT BENCH_RUNS BENCH_WARMUP \
  BENCH_FLOOR BENCH_TP_RUNS BENCH_TP_BYTES BENCH_TP_PRODUCERS BENCH_TP_CLIENTS BENCH_CRI_RUNS BENCH_CRI_PODS \
  BENCH_CRI_ROUNDS BENCH_CRI_MEM_ROUNDS BENCH_DENSITY_PODS BENCH_DENSITY_CONCURRENCY BENCH_LOG_LEVEL \
  REAPER_BIN_DIR REAPERCTL REAPER_PEERS_DIR; do
  [[ -z ${!v:-} ]] || CMDLINE+="$v=${!v} "
done
CMDLINE+="bench/all.sh"
CONTAINERDS=${BENCH_ALL_CONTAINERDS:-1.6 2.3}
SUITES=${BENCH_ALL_SUITES:-run cri density}
for s in $SUITES; do
  [[ " run cri density " == *" $s "* ]] || { echo "bench/all.sh: unknown suite '$s' (run cri density)" >&2; exit 2; }
done
[[ $EUID -eq 0 ]] || { echo "bench/all.sh: must run as root" >&2; exit 2; }

# knob <name> <default> <quick default>: exported for the scripts unless set by the caller
knob() {
  [[ -n ${!1:-} ]] && return 0
  if [[ ${BENCH_QUICK:-0} == 1 ]]; then export "$1=$3"; else export "$1=$2"; fi
}
knob BENCH_RUNS 30 5
knob BENCH_WARMUP 2 1
knob BENCH_TP_RUNS 3 1
knob BENCH_TP_BASE_RUNS 3 1
knob BENCH_TP_BYTES 1073741824 67108864
knob BENCH_CRI_RUNS 20 3
knob BENCH_CRI_WARMUP 2 1
knob BENCH_CRI_PODS 20 20
knob BENCH_CRI_ROUNDS 3 1
knob BENCH_CRI_MEM_ROUNDS 3 1
knob BENCH_DENSITY_PODS 100 10
unset BENCH_PHASES BENCH_CRI_PHASES BENCH_SUMMARY # the suites below choose their phases

OUT=${BENCH_ALL_OUT:-/tmp/reaper-bench-all.$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
alog() { printf '[bench-all %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SECONDS=0
declare -A RC=() DUR=() LOAD_AT=()
for c in $CONTAINERDS; do
  for s in $SUITES; do
    case $s in
      run) cmd=("$SELF/run.sh" latency memory throughput) ;;
      cri) cmd=("$SELF/cri.sh" latency parallel memory privileges) ;;
      density) cmd=("$SELF/density.sh") ;;
    esac
    base=$OUT/$c-$s
    : >"$base.summary"
    LOAD_AT[$c,$s]=$(cut -d' ' -f1-3 /proc/loadavg)
    alog "containerd $c: $s (${cmd[*]#"$REPO"/}) -> $base.md, progress in $base.log"
    t0=$SECONDS
    rc=0
    REAPER_CONTAINERD=$c BENCH_SUMMARY=$base.summary "${cmd[@]}" >"$base.md" 2>"$base.log" </dev/null || rc=$?
    RC[$c,$s]=$rc
    DUR[$c,$s]=$((SECONDS - t0))
    alog "containerd $c: $s exited $rc after ${DUR[$c,$s]} s"
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------
# The combined report

val() { awk -F'\t' -v k="$2" '$1 == k { v = $2 } END { print v }' "$OUT/$1.summary" 2>/dev/null; }
r2() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "-"; else printf "%d kB (%.2f MiB)", k, k / 1024 }'; }
verdict() { # <value> <op> <limit>
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "n/a" || v == "") { print "not measured"; exit }
    ok = (op == "<=") ? v <= l : v >= l; print ok ? "**met**" : "NOT met" }'
}
or_dash() { [[ -n $1 ]] && echo "$1" || echo "-"; }

headline() { # <containerd>
  local c=$1 rr rc fl sr sc pr pc mr
  echo "| Metric | reaper | runc | reaper/runc | target | met? |"
  echo "|---|---:|---:|---:|---|---|"
  if [[ " $SUITES " == *" run "* ]]; then
    rr=$(val "$c-run" lat_reaper_p50) rc=$(val "$c-run" lat_runc_p50) fl=$(val "$c-run" floor_p50)
    sr=$(val "$c-run" shim_part_reaper) sc=$(val "$c-run" shim_part_runc)
    mr=$(r2 "$rr" "$rc")
    echo "| \`ctr run --rm /bin/true\` median (ms) | $(or_dash "$rr") | $(or_dash "$rc") | **$mr** | ≤ 0.40 (stretch 0.35) | $(verdict "$mr" "<=" 0.40)$(awk -v r="$mr" 'BEGIN { if (r != "n/a" && r <= 0.35) print ", stretch met" }') |"
    echo "| floor shim median (ms): containerd's own part; ratio = floor/runc, the lowest reachable | floor: $(or_dash "$fl") | $(or_dash "$rc") | $(r2 "$fl" "$rc") | - | - |"
    echo "| shim's part: median − floor (ms) | $(or_dash "$sr") | $(or_dash "$sc") | $(r2 "$sr" "$sc") | - | - |"
    echo "| shim RSS, 1 task (ctr) | $(mib "$(val "$c-run" mem_reaper_single_rss)") | $(mib "$(val "$c-run" mem_runc_single_rss)") | $(r2 "$(val "$c-run" mem_reaper_single_rss)" "$(val "$c-run" mem_runc_single_rss)") | - | - |"
    echo "| shim PSS, 3 tasks in one group (ctr) | $(mib "$(val "$c-run" mem_reaper_group_pss)") | $(mib "$(val "$c-run" mem_runc_group_pss)") | $(r2 "$(val "$c-run" mem_reaper_group_pss)" "$(val "$c-run" mem_runc_group_pss)") | - | - |"
    local p
    for p in head dd; do
      rr=$(val "$c-run" "tp_ctr_${p}_reaper") rc=$(val "$c-run" "tp_ctr_${p}_runc")
      [[ -n $rr$rc ]] || continue
      echo "| stdout throughput, \`$p\` via ctr (MB/s) | $(awk -v v="$rr" 'BEGIN { print v == "" ? "-" : sprintf("%.0f", v) }') | $(awk -v v="$rc" 'BEGIN { print v == "" ? "-" : sprintf("%.0f", v) }') | $(r2 "$rr" "$rc") | no regression (docs: ≥ 1.5×) | $(verdict "$(r2 "$rr" "$rc")" ">=" 1.5) |"
    done
  fi
  if [[ " $SUITES " == *" cri "* ]]; then
    rr=$(val "$c-cri" cri_start_reaper) rc=$(val "$c-cri" cri_start_runc) mr=$(r2 "$rr" "$rc")
    echo "| CRI pod start: RunPodSandbox → exit, median (ms) | $(or_dash "$rr") | $(or_dash "$rc") | **$mr** | ≤ 0.20 | $(verdict "$mr" "<=" 0.20) |"
    fl=$(val "$c-cri" cri_start_floor)
    [[ -z $fl ]] || echo "| floor shim, CRI pod start (ms): containerd's own part; ratio = floor/runc, the lowest reachable | floor: $fl | $(or_dash "$rc") | $(r2 "$fl" "$rc") | - | - |"
    pr=$(val "$c-cri" cri_pps_reaper) pc=$(val "$c-cri" cri_pps_runc) mr=$(r2 "$pr" "$pc")
    echo "| $(or_dash "$(val "$c-cri" cri_pods)") pods in parallel: pods/s | $(or_dash "$pr") | $(or_dash "$pc") | **$mr×** | ≥ 5× | $(verdict "$mr" ">=" 5) |"
    fl=$(val "$c-cri" cri_pps_floor)
    [[ -z $fl ]] || echo "| floor shim, pods in parallel: pods/s; ratio = floor/runc, the highest reachable | floor: $fl | $(or_dash "$pc") | $(r2 "$fl" "$pc")× | - | - |"
    echo "| shim RSS per 3-container pod (CRI) | $(mib "$(val "$c-cri" cri_mem_reaper_rss)") | $(mib "$(val "$c-cri" cri_mem_runc_rss)") | $(r2 "$(val "$c-cri" cri_mem_reaper_rss)" "$(val "$c-cri" cri_mem_runc_rss)") | - | - |"
    echo "| pod PSS: shim + sandbox process, one pod (CRI) | $(mib "$(val "$c-cri" cri_mem_reaper_total_pss)") | $(mib "$(val "$c-cri" cri_mem_runc_total_pss)") | $(r2 "$(val "$c-cri" cri_mem_reaper_total_pss)" "$(val "$c-cri" cri_mem_runc_total_pss)") | - | - |"
    echo "| pod start with RuntimeDefault seccomp + drop ALL / without (Reaper) | $(or_dash "$(val "$c-cri" cri_priv_ratio)") | | | ≤ 1.05 | $(verdict "$(val "$c-cri" cri_priv_ratio)" "<=" 1.05) |"
  fi
  if [[ " $SUITES " == *" density "* ]]; then
    local n t1 t2
    n=$(val "$c-density" density_pods)
    t1=$(val "$c-density" density_reaper_total_pss) t2=$(val "$c-density" density_runc_total_pss)
    echo "| density, $(or_dash "$n") running pods: shim + sandbox PSS per pod | $(mib "$(awk -v k="$t1" -v n="$n" 'BEGIN { if (k != "" && n > 0) printf "%d", k / n }')") | $(mib "$(awk -v k="$t2" -v n="$n" 'BEGIN { if (k != "" && n > 0) printf "%d", k / n }')") | $(r2 "$t1" "$t2") | no regression | - |"
    t1=$(val "$c-density" density_reaper_lat_p50) t2=$(val "$c-density" density_runc_lat_p50)
    echo "| density: start latency under load, median (ms) | $(or_dash "$t1") | $(or_dash "$t2") | $(r2 "$t1" "$t2") | no regression | - |"
    t1=$(val "$c-density" density_reaper_all_started) t2=$(val "$c-density" density_runc_all_started)
    echo "| density: all $(or_dash "$n") started (s) | $(awk -v v="$t1" 'BEGIN { print v == "" ? "-" : sprintf("%.1f", v / 1e6) }') | $(awk -v v="$t2" 'BEGIN { print v == "" ? "-" : sprintf("%.1f", v / 1e6) }') | $(r2 "$t1" "$t2") | no regression | - |"
  fi
}

report() {
  local c s ok=1
  cat <<EOF
# Reaper benchmarks, one run: containerd $(echo "$CONTAINERDS" | sed 's/ / and /g')

- Command: \`$CMDLINE\`$([[ ${BENCH_QUICK:-0} == 1 ]] && echo " — **QUICK run: a check that everything works; its numbers mean nothing**")
- Knobs: BENCH_RUNS=$BENCH_RUNS BENCH_WARMUP=$BENCH_WARMUP BENCH_TP_RUNS=$BENCH_TP_RUNS BENCH_TP_BYTES=$BENCH_TP_BYTES BENCH_CRI_RUNS=$BENCH_CRI_RUNS BENCH_CRI_PODS=$BENCH_CRI_PODS BENCH_CRI_ROUNDS=$BENCH_CRI_ROUNDS BENCH_CRI_MEM_ROUNDS=$BENCH_CRI_MEM_ROUNDS BENCH_DENSITY_PODS=$BENCH_DENSITY_PODS
- Repository: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?') ($(git -C "$REPO" log -1 --format=%cI 2>/dev/null || echo '?'))
- Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r), $(free -m | awk '/^Mem:/ { print $2 " MiB RAM" }'), /sys/fs/cgroup: $(stat -fc %T /sys/fs/cgroup)
- Time: $T_START → $(date -u +%Y-%m-%dT%H:%M:%SZ) ($((SECONDS / 60)) min $((SECONDS % 60)) s)
- **Load average (1/5/15 min): at start $LOAD_START; at end $LOAD_END**
- Reports of each script, with their stderr: \`$OUT\`

| containerd | suite | exit status | duration (s) | load at its start |
|---|---|---:|---:|---|
EOF
  for c in $CONTAINERDS; do
    for s in $SUITES; do
      echo "| $c | $s | ${RC[$c,$s]} | ${DUR[$c,$s]} | ${LOAD_AT[$c,$s]} |"
      [[ ${RC[$c,$s]} == 0 ]] || ok=0
    done
  done
  for c in $CONTAINERDS; do
    echo
    echo "## containerd $c: headline figures"
    echo
    headline "$c"
  done
  for c in $CONTAINERDS; do
    for s in $SUITES; do
      echo
      echo "## containerd $c: bench/$s.sh report"
      echo
      if [[ -s $OUT/$c-$s.md ]]; then
        sed 's/^#/###/' "$OUT/$c-$s.md"   # its headings two levels down, below this one
      else
        echo "No report (exit status ${RC[$c,$s]}). Last lines of its stderr:"
        echo
        echo '```'
        tail -n 20 "$OUT/$c-$s.log" 2>/dev/null || true
        echo '```'
      fi
    done
  done
  ((ok))
}

rc=0
report >"$OUT/report.md" || rc=1
cat "$OUT/report.md"
alog "combined report: $OUT/report.md (exit $rc)"
exit "$rc"
