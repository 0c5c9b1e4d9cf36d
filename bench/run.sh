#!/usr/bin/env bash
# Benchmark containerd-shim-reaper-v2 against containerd-shim-runc-v2.
#
#   bench/run.sh                    # every phase: latency, memory, throughput
#   BENCH_RUNS=100 bench/run.sh
#   bench/run.sh throughput         # only the named phase(s); or BENCH_PHASES="latency memory"
#
# Everything goes through ONE private containerd started in a fresh
# /tmp/reaper-e2e.XXXX directory by tests/e2e/lib.sh (never the system
# socket); the EXIT trap stops it and every shim/workload of this run, by PID.
#
# Measures, for io.containerd.reaper.v2 and io.containerd.runc.v2:
#   1. wall time of `ctr run --rm --runtime <rt> <img> <id> /bin/true`
#      (p10/median/p90 over BENCH_RUNS runs, runtimes alternated ABBA), and the same
#      for the floor shim io.containerd.floor.v1 (bench/floor: answers every RPC at
#      once, runs nothing), alternated with both: containerd's own floor, so the
#      report also gives each runtime's median minus the floor's (the shim's part);
#   2. RSS and PSS (/proc/<shim>/smaps_rollup) of the shim serving one
#      detached `sleep` task, and of the shim serving 3 tasks that share the
#      annotation io.containerd.runc.v2.group=<x> (`ctr run --annotation`);
#   3. stdout throughput of a task writing 1 GiB through the shim to `ctr run`,
#      and the CPU the shim (and ctr, containerd, the producer) spent on it
#      (bench/throughput.sh, which documents its own BENCH_TP_* knobs).
# Prints a markdown report on stdout (progress on stderr). Exit status 0 when
# every measurement succeeded, 1 when a runtime failed (the report then shows
# FAILED and the ctr / containerd log lines of the failure).
#
# Env: BENCH_RUNS (30), BENCH_WARMUP (2 unmeasured runs per runtime),
#      BENCH_SETTLE (1 s between task start and the memory reading),
#      BENCH_LOG_LEVEL (containerd log level, default info: at debug,
#      containerd also passes -debug to every shim), BENCH_KEEP=1 (keep the
#      temp dir), REAPER_BIN_DIR (default <repo>/build),
#      BENCH_PHASES (default "latency memory throughput"; arguments override it),
#      BENCH_FLOOR (1: the floor shim runs in the latency phase; 0: not),
#      BENCH_SUMMARY (a file: key<TAB>value lines of the headline figures are
#      appended to it, for bench/all.sh),
#      REAPER_CONTAINERD (default main: the containerd of tests/peers/versions.env's
#      CONTAINERD_MAIN, with runc's shim of the same release; 1.6 = Debian's package).
set -euo pipefail

BENCH_SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_SELF/.." && pwd)
BENCH_CMDLINE=""
for v in BENCH_RUNS BENCH_WARMUP BENCH_SETTLE BENCH_LOG_LEVEL BENCH_PHASES BENCH_FLOOR BENCH_TP_RUNS BENCH_TP_BYTES \
  BENCH_TP_PRODUCERS BENCH_TP_CLIENTS BENCH_TP_BASE_RUNS BENCH_TP_TIMEOUT REAPER_BIN_DIR REAPER_CONTAINERD; do
  [[ -z ${!v:-} ]] || BENCH_CMDLINE+="$v=${!v} "
done
BENCH_CMDLINE+="bench/run.sh${*:+ $*}"
SHIM_INFO="?"
FLOOR_INFO=""
RUNS=${BENCH_RUNS:-30}
WARMUP=${BENCH_WARMUP:-2}
SETTLE=${BENCH_SETTLE:-1}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
RT_REAPER=io.containerd.reaper.v2
RT_RUNC=io.containerd.runc.v2
RT_FLOOR=io.containerd.floor.v1 # bench/floor: containerd's floor (docs/benchmarks.md "The floor shim")
FLOOR=${BENCH_FLOOR:-1}
GROUP_ANNOTATION=io.containerd.runc.v2.group
CTR_TIMEOUT=60s # ctr's own context timeout for timed runs (no extra process)
ALL_PHASES="latency memory throughput"
PHASES=${*:-${BENCH_PHASES:-$ALL_PHASES}}
declare -A RUN_PHASE=()
for ph in $PHASES; do
  [[ " $ALL_PHASES " == *" $ph "* ]] || { echo "bench/run.sh: unknown phase '$ph' (phases: $ALL_PHASES)" >&2; exit 2; }
  RUN_PHASE[$ph]=1
done
((${#RUN_PHASE[@]})) || { echo "bench/run.sh: no phase selected" >&2; exit 2; }
phase() { [[ -n ${RUN_PHASE[$1]:-} ]]; }

export REAPER_CONTAINERD=${REAPER_CONTAINERD:-main}
# shellcheck source=tests/e2e/lib.sh
source "$REPO/tests/e2e/lib.sh"
E2E_KEEP=${BENCH_KEEP:-0}
E2E_NS=reaper-bench # own namespace; runc state lives in /run/containerd/runc/<ns>

# Hook into lib.sh's e2e_start_containerd, which calls e2e_write_config after
# creating the temp dir and before exec'ing containerd with
# PATH=$REAPER_BIN_DIR:$PATH:
#  - benchmark at $LOG_LEVEL instead of debug (at debug, containerd also
#    starts every shim with -debug);
#  - run private copies of BOTH shim binaries from <tmp>/bin, so that (a) a
#    rebuild of build/ during the run cannot change the binary under test and
#    (b) the shims share no page-cache pages with shims of other containerds
#    on the host, which would lower their PSS.
SHIM_SRC_REAPER=$REAPER_BIN_DIR/containerd-shim-reaper-v2
SHIM_SRC_RUNC="" # set once the dependencies are checked
SHIM_SRC_FLOOR=$REAPER_BIN_DIR/bench/floor/containerd-shim-floor-v1
eval "_lib_$(declare -f e2e_write_config)"
e2e_write_config() {
  _lib_e2e_write_config
  sed -i "s/^\([[:space:]]*level = \)\"debug\"/\1\"$LOG_LEVEL\"/" "$E2E_DIR/config.toml"
  mkdir -p "$E2E_DIR/bin"
  cp -p "$SHIM_SRC_REAPER" "$SHIM_SRC_RUNC" "$E2E_DIR/bin/"
  if floor_on; then
    cp -p "$SHIM_SRC_FLOOR" "$E2E_DIR/bin/"
    FLOOR_INFO="; floor shim $SHIM_SRC_FLOOR (sha256 $(sha256_of "$E2E_DIR/bin/containerd-shim-floor-v1" | cut -c1-12))"
  fi
  REAPER_BIN_DIR=$E2E_DIR/bin
  local copy=$E2E_DIR/bin/containerd-shim-reaper-v2
  SHIM_INFO="$SHIM_SRC_REAPER (repo at git $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?') when copied, binary built $(date -u -r "$copy" +%Y-%m-%dT%H:%M:%SZ), sha256 $(sha256_of "$copy" | cut -c1-12), $(stat -c %s "$copy") bytes, $(file -b "$copy" 2>/dev/null | cut -d, -f1,5 || echo '?'))"
}

blog() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer (got '$RUNS')"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a non-negative integer"
[[ $FLOOR == [01] ]] || die "BENCH_FLOOR must be 0 or 1 (got '$FLOOR')"
floor_on() { phase latency && [[ $FLOOR == 1 ]]; }
[[ $EUID -eq 0 ]] || die "must run as root"
# shellcheck source=bench/throughput.sh
source "$BENCH_SELF/throughput.sh"
! phase throughput || tp_check_args
[[ -x $SHIM_SRC_REAPER ]] ||
  die "$REAPER_BIN_DIR/containerd-shim-reaper-v2 not found: cmake -S . -B build -G Ninja && ninja -C build"
! floor_on || [[ -x $SHIM_SRC_FLOOR ]] ||
  die "$SHIM_SRC_FLOOR not found (ninja -C build containerd-shim-floor-v1), or BENCH_FLOOR=0"
# Runtime dependencies: install the missing Debian packages (no other network use).
declare -A PKG_OF=([containerd]=containerd [ctr]=containerd [containerd-shim-runc-v2]=containerd
  [runc]=runc [busybox]=busybox-static [free]=procps [pgrep]=procps)
! phase throughput || PKG_OF[cc]=gcc # bench/sink.c
missing=()
for tool in "${!PKG_OF[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${PKG_OF[$tool]}")
done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  blog "installing missing Debian packages: ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >&2; then
    die "apt-get install ${missing[*]} failed"
  fi
fi
for tool in "${!PKG_OF[@]}" awk sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not installed"
done
e2e_select_containerd # 2.x: that release's containerd, ctr and runc shim first on PATH
SHIM_SRC_RUNC=$(command -v containerd-shim-runc-v2)

declare -A FAILED=()   # runtime -> one-line reason
FAILURE_REPORT=""      # markdown, appended to the report

short() { case $1 in "$RT_REAPER") echo reaper ;; "$RT_FLOOR") echo floor ;; *) echo runc ;; esac; }
# summary <key> <value>: one line for bench/all.sh's combined report (BENCH_SUMMARY)
summary() { [[ -z ${BENCH_SUMMARY:-} || -z $2 ]] || printf '%s\t%s\n' "$1" "$2" >>"$BENCH_SUMMARY"; }

# record_failure <rt> <what> <id> <ctr-stderr-file>
record_failure() {
  local rt=$1 what=$2 id=$3 errf=$4 lines
  FAILED[$rt]="$what"
  lines=$(
    echo "ctr stderr:"
    sed 's/^/    /' "$errf" 2>/dev/null | tail -n 20
    echo "containerd.log lines for $id and errors/warnings:"
    grep -F -e "$id" -e 'level=error' -e 'level=warning' "$E2E_DIR/containerd.log" 2>/dev/null |
      tail -n 40 | sed 's/^/    /'
  )
  blog "$(short "$rt") FAILED: $what"
  printf '%s\n' "$lines" >&2
  FAILURE_REPORT+=$'\n'"### $(short "$rt") ($rt): $what"$'\n\n```\n'"$lines"$'\n```\n'
}

# ---------------------------------------------------------------------------
# 1. Latency

declare -A SAMPLES=() # runtime -> newline-separated microseconds

# time_run <rt> <id>: one timed `ctr run --rm`; sets TIME_US (µs) on success.
# Not called in $(...): record_failure must update this shell's FAILED.
TIME_US=""
time_run() {
  local rt=$1 id=$2 t0 t1 rc=0 errf=$E2E_DIR/logs/$2.err
  t0=$EPOCHREALTIME
  ctr --address "$E2E_ADDR" --namespace "$E2E_NS" --timeout "$CTR_TIMEOUT" \
    run --rm --runtime "$rt" "$E2E_IMAGE" "$id" /bin/true </dev/null >/dev/null 2>"$errf" || rc=$?
  t1=$EPOCHREALTIME
  if ((rc != 0)); then
    record_failure "$rt" "ctr run --rm $id /bin/true exited $rc" "$id" "$errf"
    cleanup_container "$id"
    return 1
  fi
  t0=${t0//[.,]/} t1=${t1//[.,]/} # EPOCHREALTIME has exactly 6 decimals
  TIME_US=$((10#$t1 - 10#$t0))
}

LAT_RTS=("$RT_REAPER" "$RT_RUNC")
measure_latency() {
  local i rt order k j
  ! floor_on || LAT_RTS+=("$RT_FLOOR")
  blog "latency: $WARMUP warm-up + $RUNS measured runs per runtime ($(for rt in "${LAT_RTS[@]}"; do short "$rt"; done | paste -sd' ')), interleaved"
  for ((i = 1; i <= WARMUP; i++)); do
    for rt in "${LAT_RTS[@]}"; do
      [[ -z ${FAILED[$rt]:-} ]] || continue
      time_run "$rt" "$(cid "warm-$(short "$rt")-$i")" || true
    done
  done
  for ((i = 1; i <= RUNS; i++)); do
    # ABBA: odd runs in the order reaper, runc[, floor], even runs reversed
    order=("${LAT_RTS[@]}")
    ((i % 2)) || for ((k = ${#LAT_RTS[@]} - 1, j = 0; k >= 0; k--, j++)); do order[j]=${LAT_RTS[k]}; done
    for rt in "${order[@]}"; do
      [[ -z ${FAILED[$rt]:-} ]] || continue
      if time_run "$rt" "$(cid "lat-$(short "$rt")-$i")"; then
        SAMPLES[$rt]+="$TIME_US"$'\n'
      fi
    done
  done
}

# percentiles <file-or-stdin>: "n p10 p50 p90 mean min max" in ms (linear interpolation)
percentiles() {
  sort -n | awk '
    NF { x[n++] = $1; s += $1 }
    function q(p,   h, lo) { h = (n - 1) * p; lo = int(h); return (lo + 1 < n) ? x[lo] + (h - lo) * (x[lo + 1] - x[lo]) : x[lo] }
    END { if (n == 0) { print 0; exit }
          printf "%d %.1f %.1f %.1f %.1f %.1f %.1f\n", n, q(.1)/1000, q(.5)/1000, q(.9)/1000, s/n/1000, x[0]/1000, x[n-1]/1000 }'
}

# ---------------------------------------------------------------------------
# 2. Shim memory

ppid_of() { local s; s=$(cat "/proc/$1/stat") || return 1; s=${s##*) }; s=${s#* }; echo "${s%% *}"; }
# rss_pss_of <pid>: "RSS PSS USS Anon" in kB (USS = Private_Clean + Private_Dirty;
# Anon = anonymous pages: heap, stacks, data; the rest of RSS is file-backed)
rss_pss_of() {
  awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 } /^Anonymous:/ { a = $2 }
       END { print r, p, u, a }' "/proc/$1/smaps_rollup"
}
threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }

# start_sleeper <rt> <id> [ctr-run-options...]: detached `sleep 1000` task
start_sleeper() {
  local rt=$1 id=$2 errf=$E2E_DIR/logs/$2.err
  shift 2
  track "$id"
  if ! ctrp run -d --runtime "$rt" --env "E2E_MARK=$E2E_DIR" "$@" "$E2E_IMAGE" "$id" sleep 1000 \
      </dev/null >/dev/null 2>"$errf"; then
    record_failure "$rt" "ctr run -d $id sleep 1000 failed" "$id" "$errf"
    return 1
  fi
  if ! wait_until 20 task_is "$id" RUNNING; then
    echo "task status: '$(task_status "$id")'" >>"$errf"
    record_failure "$rt" "task $id not RUNNING after 20s" "$id" "$errf"
    return 1
  fi
}

# shim_of <id>: pid of the shim serving task <id> (parent of the task's pid),
# checked to be a containerd-shim-* of THIS containerd (temp dir in its argv/env).
shim_of() {
  local id=$1 tpid spid
  tpid=$(task_pid "$id")
  [[ -n $tpid && $tpid != 0 ]] || return 1
  spid=$(ppid_of "$tpid") || return 1
  [[ $'\n'$(e2e_shim_pids)$'\n' == *$'\n'"$spid"$'\n'* ]] || return 1
  echo "$spid"
}

# lib.sh's container_absent (`ctr ls -q | grep -q` under pipefail) can see
# ctr die of SIGPIPE when the id is not the last line and then wrongly report
# "absent"; check with awk (reads everything) and delete what is left.
container_listed() { ctrp containers ls -q 2>/dev/null | awk -v id="$1" '$1 == id { f = 1 } END { exit !f }'; }
remove_container() {
  local out
  cleanup_container "$1"
  if container_listed "$1"; then
    out=$(ctrp container delete "$1" 2>&1) || blog "WARNING: container delete $1: $out"
  fi
}

declare -A MEM=() # "<rt>,<metric>" -> value

# measure_memory <label> <ntasks> [grouped]
# With "grouped", every task carries $GROUP_ANNOTATION=bench-<run>-<runtime>.
# The group value differs per runtime on purpose: both shims derive their
# socket from sha256(<containerd address>/<ns>/<group>), so one shared value
# would make the second runtime's `start` find the first runtime's shim.
measure_memory() {
  local label=$1 n=$2 grouped=${3:-} rt k id ids=() shims=() spid rss pss uss anon r p u a errf opts
  for rt in "$RT_REAPER" "$RT_RUNC"; do
    [[ -z ${FAILED[$rt]:-} ]] || continue
    opts=()
    [[ -z $grouped ]] || opts=(--annotation "$GROUP_ANNOTATION=bench-$E2E_RUNID-$(short "$rt")")
    for ((k = 1; k <= n; k++)); do
      id=$(cid "$label-$(short "$rt")-$k")
      ids+=("$id")
      start_sleeper "$rt" "$id" "${opts[@]}" || break
    done
  done
  sleep "$SETTLE"
  for rt in "$RT_REAPER" "$RT_RUNC"; do
    [[ -z ${FAILED[$rt]:-} ]] || continue
    shims=()
    for ((k = 1; k <= n; k++)); do
      id=$(cid "$label-$(short "$rt")-$k")
      if ! spid=$(shim_of "$id"); then
        errf=$E2E_DIR/logs/$id.err
        echo "cannot identify the shim of $id (task pid '$(task_pid "$id")')" >>"$errf"
        record_failure "$rt" "no shim process found for task $id" "$id" "$errf"
        continue 2
      fi
      shims+=("$spid")
    done
    mapfile -t shims < <(printf '%s\n' "${shims[@]}" | sort -un)
    rss=0 pss=0 uss=0 anon=0
    for spid in "${shims[@]}"; do
      read -r r p u a < <(rss_pss_of "$spid")
      rss=$((rss + r)) pss=$((pss + p)) uss=$((uss + u)) anon=$((anon + a))
    done
    MEM[$rt,$label,shims]=${#shims[@]}
    MEM[$rt,$label,rss]=$rss
    MEM[$rt,$label,pss]=$pss
    MEM[$rt,$label,uss]=$uss
    MEM[$rt,$label,anon]=$anon
    MEM[$rt,$label,threads]=$(threads_of "${shims[0]}")
    MEM[$rt,$label,pids]="${shims[*]} "
    blog "$label $(short "$rt"): shim pid(s) ${MEM[$rt,$label,pids]}RSS $rss kB, PSS $pss kB, USS $uss kB, anon $anon kB"
  done
  # Tear down and wait for the shims to go, so the next phase starts clean.
  local before
  before=$(e2e_shim_pids)
  for id in "${ids[@]}"; do remove_container "$id"; done
  for spid in $before; do
    wait_pid_exit 10 "$spid" || blog "WARNING: shim $spid ($(readlink "/proc/$spid/exe" 2>/dev/null)) still alive 10s after its tasks were deleted"
  done
}

# ---------------------------------------------------------------------------
# Report

fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
fmt_kb() { awk -v k="$1" 'BEGIN { printf "%d kB (%.2f MiB)", k, k / 1024 }'; }

cell() { # <rt> <value>: the value, or FAILED
  if [[ -n $2 ]]; then echo "$2"; elif [[ -n ${FAILED[$1]:-} ]]; then echo "FAILED"; else echo "n/a"; fi
}

report() {
  local cpu containerd_v runc_v
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  containerd_v=$(containerd --version)
  runc_v=$(runc --version | head -n 1)

  declare -A P=()
  for rt in "$RT_REAPER" "$RT_RUNC" "$RT_FLOOR"; do
    read -r "P[$rt,n]" "P[$rt,p10]" "P[$rt,p50]" "P[$rt,p90]" "P[$rt,mean]" "P[$rt,min]" "P[$rt,max]" \
      < <(printf '%s' "${SAMPLES[$rt]:-}" | percentiles)
    if [[ ${P[$rt,n]} == 0 ]]; then for k in p10 p50 p90 mean min max; do P[$rt,$k]=""; done; fi
  done

  row() { # <label> <reaper> <runc> [ratio]
    local r c
    r=$(cell "$RT_REAPER" "$2") c=$(cell "$RT_RUNC" "$3")
    printf '| %s | %s | %s | %s |\n' "$1" "$r" "$c" "${4:-$(fmt_ratio "$2" "$3")}"
  }
  memrow() { # <label> <phase> <metric>
    local a=${MEM[$RT_REAPER,$2,$3]:-} b=${MEM[$RT_RUNC,$2,$3]:-}
    printf '| %s | %s | %s | %s |\n' "$1" \
      "$(if [[ -n $a ]]; then fmt_kb "$a"; else cell "$RT_REAPER" ""; fi)" \
      "$(if [[ -n $b ]]; then fmt_kb "$b"; else cell "$RT_RUNC" ""; fi)" "$(fmt_ratio "$a" "$b")"
  }

  cat <<EOF
# Reaper benchmark

- Command: \`$BENCH_CMDLINE\` (phases: $PHASES; containerd log level $LOG_LEVEL)
- Machine: $(nproc) CPUs, $cpu, kernel $(uname -r), $(free -m | awk '/^Mem:/ { print $2 " MiB RAM" }'), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup) ($( [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] && echo "cgroup v2" || echo "cgroup v1/hybrid"))
- $containerd_v; $runc_v
- Shims under test (private copies in <tmp>/bin, taken at start): $SHIM_INFO; $SHIM_SRC_RUNC ($(file -b "$SHIM_SRC_RUNC" 2>/dev/null | cut -d, -f1,5 || echo '?'))$FLOOR_INFO
- Load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)
- Date: $(date -u +%Y-%m-%dT%H:%MZ)
EOF
  if phase latency || phase memory; then
    echo
    echo "## Latency and shim memory"
    echo
    if phase latency; then
      echo "- Latency: $RUNS measured + $WARMUP warm-up runs per runtime of \`ctr --address <tmp>/containerd.sock --namespace $E2E_NS --timeout $CTR_TIMEOUT run --rm --runtime <rt> $E2E_IMAGE <unique-id> /bin/true\`, clock: bash \$EPOCHREALTIME (µs), runs alternated ABBA"
    fi
    if phase memory; then
      echo "- Memory: /proc/<shim>/smaps_rollup ${SETTLE}s after \`ctr run -d ... sleep 1000\`"
    fi
    echo
    echo "| Metric | reaper | runc | reaper/runc |"
    echo "|---|---:|---:|---:|"
  fi
  if phase latency; then
    row "ctr run --rm /bin/true, p10 (ms)" "${P[$RT_REAPER,p10]}" "${P[$RT_RUNC,p10]}"
    row "ctr run --rm /bin/true, **median** (ms)" "${P[$RT_REAPER,p50]}" "${P[$RT_RUNC,p50]}"
    row "ctr run --rm /bin/true, p90 (ms)" "${P[$RT_REAPER,p90]}" "${P[$RT_RUNC,p90]}"
    row "ctr run --rm /bin/true, mean (min–max) (ms)" \
      "${P[$RT_REAPER,mean]:+${P[$RT_REAPER,mean]} (${P[$RT_REAPER,min]}–${P[$RT_REAPER,max]})}" \
      "${P[$RT_RUNC,mean]:+${P[$RT_RUNC,mean]} (${P[$RT_RUNC,min]}–${P[$RT_RUNC,max]})}" \
      "$(fmt_ratio "${P[$RT_REAPER,mean]}" "${P[$RT_RUNC,mean]}")"
    row "successful timed runs" "${P[$RT_REAPER,n]}/$RUNS" "${P[$RT_RUNC,n]}/$RUNS" "-"
  fi
  if phase memory; then
    memrow "shim **RSS**, 1 task" single rss
    memrow "shim PSS, 1 task" single pss
    memrow "shim USS (private pages), 1 task" single uss
    memrow "shim anonymous memory (heap, stacks), 1 task" single anon
    memrow "shim RSS, 3 tasks, one group" group rss
    memrow "shim PSS, 3 tasks, one group" group pss
    memrow "shim USS (private pages), 3 tasks, one group" group uss
    memrow "shim anonymous memory, 3 tasks, one group" group anon
    row "shim processes for the 3 grouped tasks" "${MEM[$RT_REAPER,group,shims]:-}" "${MEM[$RT_RUNC,group,shims]:-}"
    row "shim threads, 1 task / 3 tasks" \
      "${MEM[$RT_REAPER,single,threads]:+${MEM[$RT_REAPER,single,threads]} / ${MEM[$RT_REAPER,group,threads]:-?}}" \
      "${MEM[$RT_RUNC,single,threads]:+${MEM[$RT_RUNC,single,threads]} / ${MEM[$RT_RUNC,group,threads]:-?}}" "-"
  fi
  if floor_on; then
    local fl=${P[$RT_FLOOR,p50]} sr sc
    sr=$(awk -v a="${P[$RT_REAPER,p50]}" -v f="$fl" 'BEGIN { if (a == "" || f == "") print ""; else printf "%.1f", a - f }')
    sc=$(awk -v a="${P[$RT_RUNC,p50]}" -v f="$fl" 'BEGIN { if (a == "" || f == "") print ""; else printf "%.1f", a - f }')
    cat <<EOF

### Against the floor (containerd's own part)

The floor shim (\`$RT_FLOOR\`, bench/floor) answers every task RPC at once and runs nothing;
it ran in the same loop, alternated with both runtimes. Its median is what containerd, ctr and
the snapshotter take by themselves; a runtime's median minus the floor's is the part its shim
(and, for runc, runc) is responsible for.

| ctr run --rm /bin/true (ms) | reaper | runc | floor | reaper/runc |
|---|---:|---:|---:|---:|
| p10 | $(cell "$RT_REAPER" "${P[$RT_REAPER,p10]}") | $(cell "$RT_RUNC" "${P[$RT_RUNC,p10]}") | $(cell "$RT_FLOOR" "${P[$RT_FLOOR,p10]}") | $(fmt_ratio "${P[$RT_REAPER,p10]}" "${P[$RT_RUNC,p10]}") |
| **median** | $(cell "$RT_REAPER" "${P[$RT_REAPER,p50]}") | $(cell "$RT_RUNC" "${P[$RT_RUNC,p50]}") | $(cell "$RT_FLOOR" "$fl") | **$(fmt_ratio "${P[$RT_REAPER,p50]}" "${P[$RT_RUNC,p50]}")** |
| p90 | $(cell "$RT_REAPER" "${P[$RT_REAPER,p90]}") | $(cell "$RT_RUNC" "${P[$RT_RUNC,p90]}") | $(cell "$RT_FLOOR" "${P[$RT_FLOOR,p90]}") | $(fmt_ratio "${P[$RT_REAPER,p90]}" "${P[$RT_RUNC,p90]}") |
| successful timed runs | ${P[$RT_REAPER,n]}/$RUNS | ${P[$RT_RUNC,n]}/$RUNS | ${P[$RT_FLOOR,n]}/$RUNS | - |
| **shim's part: median − floor median** | $(cell "$RT_REAPER" "$sr") | $(cell "$RT_RUNC" "$sc") | 0 | **$(fmt_ratio "$sr" "$sc")** |
| lowest reachable reaper/runc ratio (a shim that costs nothing): floor/runc | | | | $(fmt_ratio "$fl" "${P[$RT_RUNC,p50]}") |
EOF
    summary floor_p50 "$fl"
    summary shim_part_reaper "$sr"
    summary shim_part_runc "$sc"
  fi
  if phase latency; then
    summary lat_reaper_p50 "${P[$RT_REAPER,p50]}"
    summary lat_runc_p50 "${P[$RT_RUNC,p50]}"
    summary lat_reaper_n "${P[$RT_REAPER,n]}/$RUNS"
    summary lat_runc_n "${P[$RT_RUNC,n]}/$RUNS"
  fi
  if phase memory; then
    for rt in "$RT_REAPER" "$RT_RUNC"; do
      for k in rss pss; do
        summary "mem_$(short "$rt")_single_$k" "${MEM[$rt,single,$k]:-}"
        summary "mem_$(short "$rt")_group_$k" "${MEM[$rt,group,$k]:-}"
      done
    done
  fi
  ! phase throughput || report_throughput
  if phase throughput; then # TP_RESULT is filled by report_throughput
    local c p
    for c in $TP_CLIENTS; do
      for p in $TP_PRODUCERS; do
        summary "tp_${c}_${p}_reaper" "${TP_RESULT[$c,$p,mbps_reaper]:-}"
        summary "tp_${c}_${p}_runc" "${TP_RESULT[$c,$p,mbps_runc]:-}"
        summary "tp_${c}_${p}_shimcpu_reaper" "${TP_RESULT[$c,$p,shim_reaper]:-}"
        summary "tp_${c}_${p}_shimcpu_runc" "${TP_RESULT[$c,$p,shim_runc]:-}"
      done
    done
  fi

  local lat_ratio rss
  lat_ratio=$(fmt_ratio "${P[$RT_REAPER,p50]}" "${P[$RT_RUNC,p50]}")
  rss=${MEM[$RT_REAPER,single,rss]:-}
  echo
  echo "## Targets"
  echo
  if ! phase latency; then
    :
  elif [[ $lat_ratio == n/a ]]; then
    echo "- latency median ≤ 0.5× runc: NOT MEASURED"
  else
    echo "- latency median ≤ 0.5× runc: $(awk -v r="$lat_ratio" 'BEGIN { print (r <= 0.5) ? "met" : "NOT met" }') (ratio $lat_ratio)"
    echo "- latency median ≤ 0.40× runc (issue 18; stretch 0.35×): $(awk -v r="$lat_ratio" 'BEGIN { print (r <= 0.35) ? "met, stretch met" : (r <= 0.40) ? "met" : "NOT met" }') (ratio $lat_ratio$(floor_on && echo "; floor/runc $(fmt_ratio "${P[$RT_FLOOR,p50]}" "${P[$RT_RUNC,p50]}")"))"
  fi
  if ! phase memory; then
    :
  elif [[ -z $rss ]]; then
    echo "- reaper shim RSS ≤ 2 MiB: NOT MEASURED"
  else
    echo "- reaper shim RSS ≤ 2 MiB (2048 kB): $( ((rss <= 2048)) && echo met || echo "NOT met") ($rss kB)"
  fi
  ! phase throughput || targets_throughput
  if [[ -n $FAILURE_REPORT ]]; then
    echo
    echo "## Failures"
    printf '%s\n' "$FAILURE_REPORT"
  fi
}

# ---------------------------------------------------------------------------

# runc and reaper leave the (empty) per-namespace parent cgroups behind;
# remove the ones named after our namespace if they are empty.
bench_rmdir_cgroups() {
  local d
  find /sys/fs/cgroup -maxdepth 3 -depth -type d -name "$E2E_NS" 2>/dev/null |
    while read -r d; do rmdir "$d" 2>/dev/null || true; done
}
bench_exit() {
  local rc=$?
  e2e_stop_containerd # stops containerd, shims and marked workloads by PID
  bench_rmdir_cgroups
  exit "$rc"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
trap bench_exit EXIT
trap 'exit 130' INT TERM
e2e_start_containerd
e2e_build_image

if phase latency; then
  measure_latency
fi
if phase memory; then
  blog "memory: 1 detached task per runtime"
  measure_memory single 1
  blog "memory: 3 detached tasks per runtime sharing $GROUP_ANNOTATION"
  measure_memory group 3 grouped
fi
if phase throughput; then
  measure_throughput
fi

report
((${#FAILED[@]} == 0))
