#!/usr/bin/env bash
# CRI benchmark: Reaper (handler reaper-v2 -> io.containerd.reaper.v2) vs runc (handler runc ->
# io.containerd.runc.v2) through the SAME private containerd with its CRI plugin, driven by
# reaperctl the way kubelet drives CRI (issue 5, "Benchmark").
#
#   bench/cri.sh                    # every phase: latency, parallel, memory
#   bench/cri.sh latency memory     # only the named phase(s); or BENCH_CRI_PHASES="..."
#
# The private containerd is tests/cri/lib.sh's (fresh /tmp/reaper-e2e.XXXX, never the system
# socket; its config has both runtime handlers), with two changes made here: log level info
# (at debug containerd also starts every shim with -debug) and a sandbox image whose command is
# a long `sleep` (the placeholder busybox image's /bin/sh would exit at once and leave runc's
# pod without a live sandbox; Reaper never runs the sandbox image's command). Both shims and
# reaperctl are copied into <tmp>/bin before containerd starts. The EXIT trap removes the pods
# through CRI, stops containerd, every shim of this containerd and every marked workload, all
# by PID, and removes the temp dir.
#
# The floor: a third handler `floor` (io.containerd.floor.v1, bench/floor: answers every task RPC
# at once and runs nothing; a CRI sandbox "runs" until Kill, a pod's containers share its shim)
# takes part in the latency and parallel phases, alternated with both, so the report gives
# containerd's own part of a pod start and its own pods/s: the best any shim could reach here
# (docs/benchmarks.md "The floor shim"). BENCH_CRI_FLOOR=0 leaves it out.
#
# Phases (runtimes alternated, so that drift and load changes hit both):
#   latency   BENCH_CRI_RUNS (20) timed runs per runtime (+ BENCH_CRI_WARMUP (2) untimed) of a
#             one-container pod `/bin/echo hello`, ABBA order. Per run: `reaperctl run -f`
#             (foreground, waits for the exit), then `reaperctl inspect` (untimed) for the CRI
#             timestamps, then a timed `reaperctl rm -f`. Reported:
#               * RunPodSandbox -> container exit: containerd's log timestamp of the
#                 "RunPodSandbox for" line of this pod (the CRI plugin's entry log) to the
#                 container's CRI FinishedAt (the exit time the shim reports in TaskExit);
#               * launch -> container exit: bash $EPOCHREALTIME just before reaperctl is
#                 exec'd to FinishedAt (adds reaperctl's start-up, ImageStatus, ListPodSandbox);
#               * reaperctl run wall time (adds reaperctl's 100 ms ContainerStatus poll and the
#                 log printing), reaperctl rm wall time, and their sum (~ `run --rm`).
#   parallel  BENCH_CRI_ROUNDS (3) rounds per runtime, alternated: BENCH_CRI_PODS (50)
#             one-container `/bin/echo` pods launched at once, each with its own
#             `reaperctl run -d` process (no per-pod pollers); then `reaperctl ps` every 0.2 s
#             until all have exited; time = latest CRI FinishedAt - launch; pods/s = N / time.
#             Every reaperctl must exit 0 and every container must have exit code 0. Then all
#             pods are removed (50 parallel `reaperctl rm -f`, timed, informational).
#   privileges  Reaper only: BENCH_CRI_RUNS (20) timed runs (+ warm-up) each of the latency pod
#             as is and with `securityContext: {seccompProfile: {type: RuntimeDefault},
#             capabilities: {drop: [ALL]}}` (containerd writes its default seccomp profile and
#             empty capability sets into the spec; the shim compiles the profile and the child
#             loads it), ABBA order; reported: RunPodSandbox -> exit and launch -> exit of both,
#             and their ratio (target <= 1.05, issue 15).
#   memory    BENCH_CRI_MEM_ROUNDS (3) rounds: one pod per runtime with 3 containers
#             `sleep 1000` (sandbox + 3 containers); BENCH_SETTLE (1) s after all are Running,
#             the shim(s) of the pod (parents of the sandbox and container pids, checked to be
#             containerd-shim-* of this containerd) are read from /proc/<pid>/smaps_rollup.
#
# Env: BENCH_CRI_RUNS, BENCH_CRI_WARMUP, BENCH_CRI_PODS, BENCH_CRI_ROUNDS, BENCH_CRI_MEM_ROUNDS,
#      BENCH_SETTLE, BENCH_LOG_LEVEL (info), BENCH_KEEP=1 (keep the temp dir), BENCH_CRI_FLOOR,
#      REAPER_BIN_DIR (default <repo>/build), REAPERCTL (default
#      $REAPER_BIN_DIR/tools/reaperctl/reaperctl), BENCH_CRI_PHASES, REAPER_CONTAINERD (default
#      main: the containerd of tests/peers/versions.env's CONTAINERD_MAIN, with runc's shim of
#      the same release; 1.6 = Debian's package), BENCH_SUMMARY (a file: key<TAB>value lines of
#      the headline figures are appended to it, for bench/all.sh; bench/density.sh too).
# Prints a markdown report on stdout (progress on stderr). Exit status 0 when every measurement
# succeeded, 1 otherwise (the report then lists the failures).
set -euo pipefail

BENCH_SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_SELF/.." && pwd)
BENCH_CMDLINE=""
for v in BENCH_CRI_RUNS BENCH_CRI_WARMUP BENCH_CRI_PODS BENCH_CRI_ROUNDS BENCH_CRI_MEM_ROUNDS \
  BENCH_SETTLE BENCH_LOG_LEVEL BENCH_CRI_PHASES REAPER_BIN_DIR REAPERCTL REAPER_CONTAINERD; do
  [[ -z ${!v:-} ]] || BENCH_CMDLINE+="$v=${!v} "
done
BENCH_CMDLINE+="bench/cri.sh${*:+ $*}"
RUNS=${BENCH_CRI_RUNS:-20}
WARMUP=${BENCH_CRI_WARMUP:-2}
NPODS=${BENCH_CRI_PODS:-50}
ROUNDS=${BENCH_CRI_ROUNDS:-3}
MEM_ROUNDS=${BENCH_CRI_MEM_ROUNDS:-3}
SETTLE=${BENCH_SETTLE:-1}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
ALL_PHASES="latency parallel memory privileges"
PHASES=${*:-${BENCH_CRI_PHASES:-$ALL_PHASES}}
declare -A RUN_PHASE=()
for ph in $PHASES; do
  [[ " $ALL_PHASES " == *" $ph "* ]] || { echo "bench/cri.sh: unknown phase '$ph' (phases: $ALL_PHASES)" >&2; exit 2; }
  RUN_PHASE[$ph]=1
done
phase() { [[ -n ${RUN_PHASE[$1]:-} ]]; }
for v in RUNS NPODS ROUNDS MEM_ROUNDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench/cri.sh: $v must be a positive integer" >&2; exit 2; }
done
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "bench/cri.sh: BENCH_CRI_WARMUP must be >= 0" >&2; exit 2; }

export REAPER_CONTAINERD=${REAPER_CONTAINERD:-main}
# shellcheck source=tests/cri/lib.sh
source "$REPO/tests/cri/lib.sh"
E2E_KEEP=${BENCH_KEEP:-0}
HANDLERS=(reaper-v2 runc)
# The floor (bench/floor, docs/benchmarks.md "The floor shim"): handler `floor` ->
# io.containerd.floor.v1, a shim that answers at once and runs nothing, in the latency and
# parallel phases beside both: containerd's own part of a pod start (BENCH_CRI_FLOOR=0: off).
FLOOR=${BENCH_CRI_FLOOR:-1}
SHIM_SRC_FLOOR=$REAPER_BIN_DIR/bench/floor/containerd-shim-floor-v1
TIMED=("${HANDLERS[@]}") # handlers of the latency and parallel phases
[[ $FLOOR != 1 ]] || TIMED+=(floor)
PAUSE_IMAGE=docker.io/library/reaper-bench-pause:latest
SHIM_SRC_REAPER=$REAPER_BIN_DIR/containerd-shim-reaper-v2
SHIM_SRC_RUNC=""
REAPERCTL_SRC=$REAPERCTL
BIN_INFO="?"

blog() { printf '[bench-cri %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# summary <key> <value>: one line for bench/all.sh's combined report (BENCH_SUMMARY)
summary() { [[ -z ${BENCH_SUMMARY:-} || -z $2 || $2 == - ]] || printf '%s\t%s\n' "$1" "$2" >>"$BENCH_SUMMARY"; }

[[ $EUID -eq 0 ]] || die "must run as root"
[[ -x $SHIM_SRC_REAPER ]] || die "$SHIM_SRC_REAPER not found: cmake -S . -B build -G Ninja && ninja -C build"
[[ -x $REAPERCTL_SRC ]] || die "$REAPERCTL_SRC not found (build it, or set REAPERCTL)"
[[ $FLOOR != 1 || -x $SHIM_SRC_FLOOR ]] ||
  die "$SHIM_SRC_FLOOR not found (ninja -C build containerd-shim-floor-v1), or BENCH_CRI_FLOOR=0"
declare -A PKG_OF=([containerd]=containerd [ctr]=containerd [containerd-shim-runc-v2]=containerd
  [runc]=runc [busybox]=busybox-static [free]=procps)
missing=()
for tool in "${!PKG_OF[@]}"; do command -v "$tool" >/dev/null || missing+=("${PKG_OF[$tool]}"); done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  blog "installing missing Debian packages: ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >&2 || die "apt-get install ${missing[*]} failed"
fi
e2e_select_containerd # 2.x: that release's containerd, ctr and runc shim first on PATH
SHIM_SRC_RUNC=$(command -v containerd-shim-runc-v2)

describe() { # <file>: sha256 prefix, size, build time
  printf 'sha256 %s, %s bytes, built %s' "$(sha256_of "$1" | cut -c1-12)" "$(stat -c %s "$1")" \
    "$(date -u -r "$1" +%Y-%m-%dT%H:%M:%SZ)"
}

# tests/cri/lib.sh's config, plus: log level, the sandbox image, private binary copies.
eval "_cri_$(declare -f e2e_write_config)"
e2e_write_config() {
  _cri_e2e_write_config
  local cfg=$E2E_DIR/config.toml
  sed -i "s/^\([[:space:]]*level = \)\"debug\"/\1\"$LOG_LEVEL\"/" "$cfg"
  grep -qE "(sandbox_image|sandbox) = \"$PAUSE_IMAGE\"" "$cfg" || die "no sandbox image $PAUSE_IMAGE in $cfg"
  if ! grep -q 'containerd.runtimes.runc\]' "$cfg" || ! grep -q 'runtime_type = "io.containerd.runc.v2"' "$cfg"; then
    die "tests/cri/lib.sh's config has no runc runtime handler"
  fi
  mkdir -p "$E2E_DIR/bin"
  cp -p "$SHIM_SRC_REAPER" "$SHIM_SRC_RUNC" "$REAPERCTL_SRC" "$E2E_DIR/bin/"
  if [[ $FLOOR == 1 ]]; then
    # the floor handler beside reaper-v2's, under the same CRI plugin table
    local table
    table=$(sed -n 's/^[[:space:]]*\[\(.*\)\.containerd\.runtimes\.reaper-v2\][[:space:]]*$/\1/p' "$cfg" | head -n 1)
    [[ -n $table ]] || die "no reaper-v2 runtime handler table in $cfg"
    printf '\n[%s.containerd.runtimes.floor]\n  runtime_type = "io.containerd.floor.v1"\n' "$table" >>"$cfg"
    cp -p "$SHIM_SRC_FLOOR" "$E2E_DIR/bin/"
  fi
  REAPER_BIN_DIR=$E2E_DIR/bin # e2e_snapshot_shim then copies these copies onto themselves
  REAPERCTL=$E2E_DIR/bin/reaperctl
  BIN_INFO="repo at git $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '?') when copied; $SHIM_SRC_REAPER: $(describe "$E2E_DIR/bin/containerd-shim-reaper-v2"); $REAPERCTL_SRC: $(describe "$REAPERCTL")"
}

# The pause image: lib.sh's busybox image whose command is a long sleep, imported by cri_start
# (tests/cri/lib.sh) as CRI_SANDBOX_IMAGE.
export CRI_SANDBOX_IMAGE=$PAUSE_IMAGE
bench_import_pause_image() {
  grep -qxF "$PAUSE_IMAGE" <<<"$(ctrp images ls -q)" || die "image $PAUSE_IMAGE not listed after cri_start"
}

# ---------------------------------------------------------------------------
# Bookkeeping

BG_PIDS=()                  # background reaperctl processes (killed by the trap if alive)
declare -A FAILED=()        # handler -> count of failures
FAILURE_REPORT=""
record_failure() { # <handler> <message> [file-with-details]
  FAILED[$1]=$((${FAILED[$1]:-0} + 1))
  blog "$1 FAILED: $2"
  FAILURE_REPORT+=$'\n'"- $1: $2"
  if [[ -n ${3:-} && -s $3 ]]; then
    FAILURE_REPORT+=$'\n\n```\n'"$(tail -n 15 "$3")"$'\n```\n'
    tail -n 15 "$3" >&2
  fi
}

bench_exit() {
  local rc=$? p alive=()
  set +e
  for p in "${BG_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
  ((${#alive[@]} == 0)) || kill_pids_deadline TERM 5 "${alive[@]}"
  e2e_stop_containerd # reaperctl rm --all, containerd, shims, marked workloads: by PID
  exit "$rc"
}

now_us() { local t=$EPOCHREALTIME; echo "${t//[.,]/}"; }

# pod_yaml <file> <name> <handler> <command-json> [ncontainers] [container securityContext, flow YAML]
pod_yaml() {
  local file=$1 name=$2 handler=$3 cmd=$4 n=${5:-1} sec=${6:-} k
  {
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n' "$name"
    printf '  runtimeClassName: %s\n  hostNetwork: true\n  restartPolicy: Never\n  containers:\n' "$handler"
    for ((k = 0; k < n; k++)); do
      printf '  - name: c%d\n    command: %s\n    env: [{name: E2E_MARK, value: "%s"}]\n' "$k" "$cmd" "$E2E_DIR"
      [[ -z $sec ]] || printf '    securityContext: %s\n' "$sec"
    done
  } >"$file"
}

short() { case $1 in reaper-v2) echo reaper ;; floor) echo floor ;; *) echo runc ;; esac; }
# order <i>: the timed handlers, reversed on even i (ABBA: drift and load hit each alike)
order_of() {
  local k
  ORDER=("${TIMED[@]}")
  ((${1} % 2)) || for ((k = 0; k < ${#TIMED[@]}; k++)); do ORDER[k]=${TIMED[${#TIMED[@]} - 1 - k]}; done
}

# inspect_pod <pod>: "pod_created_ns n_containers n_exit0 max_finished_ns states pids"
inspect_pod() {
  rctl inspect "$1" | awk '
    function f(k,   i) { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
    $1 == "pod" { pc = f("created"); pids = f("pid") }
    $1 == "container" { n++; if (f("state") == "Exited" && f("exit") == "0") ok++
                        fin = f("finished"); if (mf == "" || fin + 0 > mf + 0) mf = fin
                        st = st (st == "" ? "" : ",") f("state"); pids = pids "," f("pid") }
    END { printf "%s %d %d %s %s %s\n", pc, n, ok, (mf == "" ? 0 : mf), st, pids }'
}
# (timestamps are kept as strings: mawk prints large integers with %d as 2147483647)

# The CRI plugin's "RunPodSandbox for &PodSandboxMetadata{Name:<pod>," log line (1.6; 2.x logs
# the metadata as `name:\"<pod>\"  uid:...`): its time in µs.
rps_log_us() {
  local line ts
  line=$(grep -F -e "RunPodSandbox for &PodSandboxMetadata{Name:$1," -e "RunPodSandbox for name:\\\"$1\\\"" \
    "$E2E_DIR/containerd.log" | head -n 1)
  [[ $line =~ time=\"([^\"]+)\" ]] || return 1
  ts=${BASH_REMATCH[1]}
  date -d "$ts" +%s%6N
}

wait_no_shims() {
  wait_until 20 no_shims_left || blog "WARNING: shims still alive 20 s after removal: $(e2e_shim_pids | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------
# 1. Latency

declare -A LAT=() # "<handler>,<metric>" -> newline-separated µs samples
SANDBOX_MS_RE='sandbox [0-9a-f]+ ready in ([0-9]+) ms'

latency_run() { # <handler> <pod> <record: 0|1> [key in LAT, default the handler] [securityContext]
  local h=$1 pod=$2 rec=$3 f=$E2E_DIR/data/$2.yaml err=$E2E_DIR/logs/$2.err t0 t1 t2 t3 rc=0
  local pc n ok fin st pids rps key=${4:-$1} sec=${5:-}
  pod_yaml "$f" "$pod" "$h" '["/bin/echo", "hello"]' 1 "$sec"
  t0=$EPOCHREALTIME
  "$REAPERCTL" --runtime-endpoint "unix://$E2E_ADDR" --default-image "$E2E_IMAGE" \
    --log-root "$E2E_DIR/pod-logs" --root "$E2E_DIR/reaperctl" run --timeout 60 -f "$f" \
    </dev/null >"$E2E_DIR/logs/$pod.out" 2>"$err" || rc=$?
  t1=$EPOCHREALTIME
  read -r pc n ok fin st pids < <(inspect_pod "$pod") || true
  t2=$EPOCHREALTIME
  rctl -q rm -f "$pod" >>"$err" 2>&1 || { record_failure "$h" "reaperctl rm $pod failed" "$err"; }
  t3=$EPOCHREALTIME
  t0=${t0//[.,]/} t1=${t1//[.,]/} t2=${t2//[.,]/} t3=${t3//[.,]/}
  # (the floor runs nothing: no "hello")
  if ((rc != 0)) || [[ ${n:-0} != 1 || ${ok:-0} != 1 ]] ||
    { [[ $h != floor ]] && ! grep -qx hello "$E2E_DIR/logs/$pod.out"; }; then
    record_failure "$h" "latency pod $pod: reaperctl run exit $rc, containers '${n:-?}', exited 0: '${ok:-?}'" "$err"
    return 0
  fi
  ((rec)) || return 0
  rps=$(rps_log_us "$pod") || { record_failure "$h" "no RunPodSandbox log line for $pod" ""; return 0; }
  LAT[$key,rps_exit]+="$((fin / 1000 - rps))"$'\n'
  LAT[$key,launch_exit]+="$((fin / 1000 - 10#$t0))"$'\n'
  LAT[$key,created_exit]+="$(((fin - pc) / 1000))"$'\n'
  LAT[$key,run]+="$((10#$t1 - 10#$t0))"$'\n'
  LAT[$key,rm]+="$((10#$t3 - 10#$t2))"$'\n'
  LAT[$key,runrm]+="$((10#$t1 - 10#$t0 + 10#$t3 - 10#$t2))"$'\n'
  if [[ $(cat "$err") =~ $SANDBOX_MS_RE ]]; then LAT[$key,rps_call]+="$((BASH_REMATCH[1] * 1000))"$'\n'; fi
}

measure_latency() {
  local i h order
  blog "latency: $WARMUP warm-up + $RUNS measured echo pods per runtime, ABBA"
  for ((i = 1; i <= WARMUP; i++)); do
    for h in "${TIMED[@]}"; do latency_run "$h" "b-$E2E_RUNID-warm-$(short "$h")-$i" 0; done
  done
  for ((i = 1; i <= RUNS; i++)); do
    order_of "$i"
    for h in "${ORDER[@]}"; do latency_run "$h" "b-$E2E_RUNID-lat-$(short "$h")-$i" 1; done
    ((i % 5)) || blog "latency: $i/$RUNS"
  done
  wait_no_shims
}

# Reaper only: the same pod without and with RuntimeDefault seccomp + capabilities drop ALL.
PRIV_SEC='{seccompProfile: {type: RuntimeDefault}, capabilities: {drop: [ALL]}}'
measure_privileges() {
  local i v order
  blog "privileges: $WARMUP warm-up + $RUNS measured echo pods each, plain and RuntimeDefault+drop ALL, ABBA"
  for ((i = 1; i <= WARMUP; i++)); do
    latency_run reaper-v2 "b-$E2E_RUNID-pwarm-plain-$i" 0 plain ""
    latency_run reaper-v2 "b-$E2E_RUNID-pwarm-secure-$i" 0 secure "$PRIV_SEC"
  done
  for ((i = 1; i <= RUNS; i++)); do
    if ((i % 2)); then order=(plain secure); else order=(secure plain); fi
    for v in "${order[@]}"; do
      latency_run reaper-v2 "b-$E2E_RUNID-priv-$v-$i" 1 "$v" "$([[ $v == secure ]] && echo "$PRIV_SEC")"
    done
    ((i % 5)) || blog "privileges: $i/$RUNS"
  done
  wait_no_shims
}

# ---------------------------------------------------------------------------
# 2. Pods per second, NPODS in parallel

declare -A PAR=() # "<handler>,<metric>" -> newline-separated values

all_exited() { # <round-prefix>: every pod of the round listed with c0=Exited(...)
  local n
  n=$(rctl ps 2>/dev/null | awk -v p="$1" 'index($2, p) == 1 && $NF ~ /^c0=Exited\(/ { n++ } END { print n + 0 }')
  ((n == NPODS))
}

parallel_round() { # <handler> <round>
  local h=$1 r=$2 prefix="b-$E2E_RUNID-par$2-$(short "$1")-" i pod t0 t_started t_rm0 t_rm1 rc
  local pids=() bad=0 maxfin=0 pc n ok fin st cpids errs=$E2E_DIR/logs/par$2-$(short "$1").err
  : >"$errs"
  for ((i = 1; i <= NPODS; i++)); do
    pod_yaml "$E2E_DIR/data/$prefix$i.yaml" "$prefix$i" "$h" '["/bin/echo", "hello"]'
  done
  BG_PIDS=()
  t0=$(now_us)
  for ((i = 1; i <= NPODS; i++)); do
    "$REAPERCTL" --runtime-endpoint "unix://$E2E_ADDR" --default-image "$E2E_IMAGE" \
      --log-root "$E2E_DIR/pod-logs" --root "$E2E_DIR/reaperctl" -q run -d --timeout 120 \
      -f "$E2E_DIR/data/$prefix$i.yaml" </dev/null >/dev/null 2>"$E2E_DIR/logs/$prefix$i.err" &
    pids+=($!)
    BG_PIDS+=($!)
  done
  for i in "${!pids[@]}"; do
    rc=0
    wait "${pids[i]}" || rc=$?
    if ((rc != 0)); then
      bad=$((bad + 1))
      { echo "pod $prefix$((i + 1)): reaperctl run -d exit $rc"; cat "$E2E_DIR/logs/$prefix$((i + 1)).err"; } >>"$errs"
    fi
  done
  t_started=$(now_us)
  BG_PIDS=()
  wait_until 120 all_exited "$prefix" || echo "not all $NPODS pods exited within 120 s" >>"$errs"
  for ((i = 1; i <= NPODS; i++)); do
    pod=$prefix$i
    read -r pc n ok fin st cpids < <(inspect_pod "$pod") || true
    if [[ ${n:-0} != 1 || ${ok:-0} != 1 ]]; then
      bad=$((bad + 1))
      echo "pod $pod: containers '${n:-?}', exited with 0: '${ok:-?}', states '${st:-?}'" >>"$errs"
    fi
    if ((${fin:-0} > maxfin)); then maxfin=$fin; fi
  done
  # remove them all, in parallel
  t_rm0=$(now_us)
  for ((i = 1; i <= NPODS; i++)); do
    rctl -q rm -f "$prefix$i" >>"$errs" 2>&1 &
    pids+=($!)
    BG_PIDS+=($!)
  done
  for p in "${pids[@]:NPODS}"; do wait "$p" || { bad=$((bad + 1)); echo "a reaperctl rm failed" >>"$errs"; }; done
  t_rm1=$(now_us)
  BG_PIDS=()
  wait_no_shims
  if ((bad)); then
    record_failure "$h" "parallel round $r: $bad problem(s)" "$errs"
    return 0
  fi
  local t_exit=$((maxfin / 1000 - t0))
  PAR[$h,exit]+="$t_exit"$'\n'
  PAR[$h,started]+="$((t_started - t0))"$'\n'
  PAR[$h,rm]+="$((t_rm1 - t_rm0))"$'\n'
  blog "parallel round $r $(short "$h"): $NPODS pods exited $((t_exit / 1000)) ms after launch ($(awk -v n="$NPODS" -v t="$t_exit" 'BEGIN { printf "%.1f", n / (t / 1e6) }') pods/s), all run -d returned after $(((t_started - t0) / 1000)) ms, removal $(((t_rm1 - t_rm0) / 1000)) ms"
}

measure_parallel() {
  local r h order
  blog "parallel: $ROUNDS rounds of $NPODS echo pods per runtime"
  for ((r = 1; r <= ROUNDS; r++)); do
    order_of "$r"
    for h in "${ORDER[@]}"; do parallel_round "$h" "$r"; done
  done
}

# ---------------------------------------------------------------------------
# 3. Shim memory per 3-container pod

declare -A MEM=() # "<handler>,<metric>" -> newline-separated values (kB)
ppid_of() { local s; s=$(cat "/proc/$1/stat") || return 1; s=${s##*) }; s=${s#* }; echo "${s%% *}"; }
smaps_of() { # <pid>: "RSS PSS USS Anon" in kB
  awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 } /^Anonymous:/ { a = $2 }
       END { print r, p, u, a }' "/proc/$1/smaps_rollup"
}
three_running() { [[ $(inspect_pod "$1" | awk '{ print $5 }') == Running,Running,Running ]]; }

memory_round() { # <round>
  local r=$1 h pod f err pc n ok fin st pids p spid shims rss pss uss anon a b c d thr ourshims
  for h in "${HANDLERS[@]}"; do
    pod=b-$E2E_RUNID-mem$r-$(short "$h") f=$E2E_DIR/data/$pod.yaml err=$E2E_DIR/logs/$pod.err
    pod_yaml "$f" "$pod" "$h" '["/bin/sleep", "1000"]' 3
    rctl -q run -d -f "$f" </dev/null >/dev/null 2>"$err" ||
      record_failure "$h" "memory pod $pod: reaperctl run -d failed" "$err"
  done
  for h in "${HANDLERS[@]}"; do
    pod=b-$E2E_RUNID-mem$r-$(short "$h")
    wait_until 30 three_running "$pod" ||
      record_failure "$h" "memory pod $pod: containers not all Running after 30 s ($(inspect_pod "$pod"))" ""
  done
  sleep "$SETTLE"
  ourshims=" $(e2e_shim_pids | tr '\n' ' ') "
  for h in "${HANDLERS[@]}"; do
    pod=b-$E2E_RUNID-mem$r-$(short "$h")
    read -r pc n ok fin st pids < <(inspect_pod "$pod") || true
    shims=()
    for p in ${pids//,/ }; do
      if [[ $p == 0 ]] || ! spid=$(ppid_of "$p") || [[ $ourshims != *" $spid "* ]]; then
        record_failure "$h" "memory pod $pod: pid '$p' (of '$pids') has no shim of this containerd as parent" ""
        continue 2
      fi
      shims+=("$spid")
    done
    mapfile -t shims < <(printf '%s\n' "${shims[@]}" | sort -un)
    rss=0 pss=0 uss=0 anon=0 thr=0
    for spid in "${shims[@]}"; do
      read -r a b c d < <(smaps_of "$spid")
      rss=$((rss + a)) pss=$((pss + b)) uss=$((uss + c)) anon=$((anon + d))
      thr=$((thr + $(awk '/^Threads:/ { print $2 }' "/proc/$spid/status")))
    done
    MEM[$h,rss]+="$rss"$'\n'
    MEM[$h,pss]+="$pss"$'\n'
    MEM[$h,uss]+="$uss"$'\n'
    MEM[$h,anon]+="$anon"$'\n'
    MEM[$h,shims]=${#shims[@]}
    MEM[$h,threads]=$thr
    # The sandbox process: Reaper's placeholder (the shim binary re-exec'd as "reaper-sandbox",
    # sharing its text pages) or runc's pause container (here busybox sleep).
    p=${pids%%,*}
    read -r a b c d < <(smaps_of "$p")
    MEM[$h,sb_rss]+="$a"$'\n'
    MEM[$h,sb_pss]+="$b"$'\n'
    MEM[$h,total_pss]+="$((pss + b))"$'\n'
    MEM[$h,sb_what]="$(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-40 | sed 's/ *$//')"
    blog "memory round $r $(short "$h"): shim(s) ${shims[*]} for pids $pids: RSS $rss kB, PSS $pss kB, USS $uss kB, anon $anon kB, $thr thread(s); sandbox process $p (${MEM[$h,sb_what]}): RSS $a kB, PSS $b kB"
  done
  for h in "${HANDLERS[@]}"; do
    rctl -q rm -f "b-$E2E_RUNID-mem$r-$(short "$h")" >/dev/null 2>&1 ||
      record_failure "$h" "memory pod: reaperctl rm failed" ""
  done
  wait_no_shims
}

measure_memory() {
  local r
  blog "memory: $MEM_ROUNDS rounds of one 3-container pod per runtime"
  for ((r = 1; r <= MEM_ROUNDS; r++)); do memory_round "$r"; done
}

# ---------------------------------------------------------------------------
# Report

# stats: stdin = samples; prints "n p10 p50 p90 min max" (linear interpolation)
stats() {
  sort -n | awk '
    NF { x[n++] = $1 }
    function q(p,   h, lo) { h = (n - 1) * p; lo = int(h); return (lo + 1 < n) ? x[lo] + (h - lo) * (x[lo + 1] - x[lo]) : x[lo] }
    END { if (n == 0) { print "0 - - - - -"; exit } printf "%d %.1f %.1f %.1f %.1f %.1f\n", n, q(.1), q(.5), q(.9), x[0], x[n-1] }'
}
ms() { [[ $1 == - ]] && echo - || awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }

# The report lines that describe the machine, versions, binaries and load (also bench/density.sh).
bench_machine_lines() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  cat <<EOF
- Machine: $(nproc) CPUs, $cpu, kernel $(uname -r), $(free -m | awk '/^Mem:/ { print $2 " MiB RAM" }')
- $(containerd --version); $(runc --version | head -n 1)
- Binaries (private copies in <tmp>/bin): $BIN_INFO; runc shim $SHIM_SRC_RUNC
- Load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)
- Date: $(date -u +%Y-%m-%dT%H:%MZ)
EOF
}

report() {
  local h m label
  cat <<EOF
# Reaper CRI benchmark

- Command: \`$BENCH_CMDLINE\` (phases: $PHASES; containerd log level $LOG_LEVEL)
$(bench_machine_lines)

| Metric | reaper | runc | reaper/runc |
|---|---:|---:|---:|
EOF
  if phase latency; then
    declare -A S=()
    for m in rps_exit launch_exit created_exit rps_call run rm runrm; do
      for h in "${TIMED[@]}"; do
        read -r "S[$h,$m,n]" "S[$h,$m,p10]" "S[$h,$m,p50]" "S[$h,$m,p90]" "S[$h,$m,min]" "S[$h,$m,max]" \
          < <(printf '%s' "${LAT[$h,$m]:-}" | stats)
      done
    done
    for m in rps_exit launch_exit created_exit rps_call run rm runrm; do
      case $m in
        rps_exit) label="**RunPodSandbox → container exit** (containerd log → CRI FinishedAt)" ;;
        launch_exit) label="reaperctl launch → container exit (FinishedAt)" ;;
        created_exit) label="sandbox CreatedAt → container exit (both CRI timestamps)" ;;
        rps_call) label="RunPodSandbox call alone (reaperctl's 'ready in')" ;;
        run) label="\`reaperctl run -f\` wall (100 ms status poll)" ;;
        rm) label="\`reaperctl rm -f\` wall" ;;
        runrm) label="run + rm wall (≈ \`run --rm\`)" ;;
      esac
      for q in p50 p10 p90; do
        [[ $m == rps_exit || $q == p50 ]] || continue
        printf '| %s, %s (ms) | %s | %s | %s |\n' "$label" "$([[ $q == p50 ]] && echo median || echo "$q")" \
          "$(ms "${S[reaper-v2,$m,$q]}")" "$(ms "${S[runc,$m,$q]}")" "$(ratio "${S[reaper-v2,$m,$q]}" "${S[runc,$m,$q]}")"
      done
    done
    printf '| latency samples (per runtime, + %s warm-up) | %s/%s | %s/%s | - |\n' "$WARMUP" \
      "${S[reaper-v2,rps_exit,n]}" "$RUNS" "${S[runc,rps_exit,n]}" "$RUNS"
    summary cri_start_reaper "$(ms "${S[reaper-v2,rps_exit,p50]}")"
    summary cri_start_runc "$(ms "${S[runc,rps_exit,p50]}")"
    summary cri_start_n "${S[reaper-v2,rps_exit,n]}/$RUNS ${S[runc,rps_exit,n]}/$RUNS"
    if [[ $FLOOR == 1 ]]; then
      printf '| floor shim: RunPodSandbox → container exit, median (ms): containerd'"'"'s own part | floor: %s | %s | floor/runc %s (the lowest reachable ratio) |\n' \
        "$(ms "${S[floor,rps_exit,p50]}")" "$(ms "${S[runc,rps_exit,p50]}")" "$(ratio "${S[floor,rps_exit,p50]}" "${S[runc,rps_exit,p50]}")"
      local sr sc
      sr=$(awk -v a="${S[reaper-v2,rps_exit,p50]}" -v f="${S[floor,rps_exit,p50]}" 'BEGIN { print (a == "-" || f == "-") ? "-" : a - f }')
      sc=$(awk -v a="${S[runc,rps_exit,p50]}" -v f="${S[floor,rps_exit,p50]}" 'BEGIN { print (a == "-" || f == "-") ? "-" : a - f }')
      printf '| shim'"'"'s part of a pod start: median − floor median (ms) | %s | %s | %s |\n' "$(ms "$sr")" "$(ms "$sc")" "$(ratio "$sr" "$sc")"
      printf '| floor latency samples | %s/%s | | |\n' "${S[floor,rps_exit,n]}" "$RUNS"
      summary cri_start_floor "$(ms "${S[floor,rps_exit,p50]}")"
    fi
  fi
  if phase parallel; then
    declare -A Q=()
    for m in exit started rm; do
      for h in "${TIMED[@]}"; do
        read -r "Q[$h,$m,n]" "Q[$h,$m,p10]" "Q[$h,$m,p50]" "Q[$h,$m,p90]" "Q[$h,$m,min]" "Q[$h,$m,max]" \
          < <(printf '%s' "${PAR[$h,$m]:-}" | stats)
      done
    done
    pps() { [[ $1 == - ]] && echo - || awk -v n="$NPODS" -v t="$1" 'BEGIN { printf "%.1f", n / (t / 1e6) }'; }
    printf '| %s pods in parallel: launch → last exit, median (min–max) of %s rounds (ms) | %s (%s–%s) | %s (%s–%s) | %s |\n' \
      "$NPODS" "$ROUNDS" "$(ms "${Q[reaper-v2,exit,p50]}")" "$(ms "${Q[reaper-v2,exit,min]}")" "$(ms "${Q[reaper-v2,exit,max]}")" \
      "$(ms "${Q[runc,exit,p50]}")" "$(ms "${Q[runc,exit,min]}")" "$(ms "${Q[runc,exit,max]}")" \
      "$(ratio "${Q[reaper-v2,exit,p50]}" "${Q[runc,exit,p50]}")"
    printf '| **pods per second** (%s / median time) | %s | %s | %s |\n' "$NPODS" \
      "$(pps "${Q[reaper-v2,exit,p50]}")" "$(pps "${Q[runc,exit,p50]}")" \
      "$(ratio "$(pps "${Q[reaper-v2,exit,p50]}")" "$(pps "${Q[runc,exit,p50]}")")"
    printf '| %s pods: all `reaperctl run -d` returned, median (ms) | %s | %s | %s |\n' "$NPODS" \
      "$(ms "${Q[reaper-v2,started,p50]}")" "$(ms "${Q[runc,started,p50]}")" "$(ratio "${Q[reaper-v2,started,p50]}" "${Q[runc,started,p50]}")"
    printf '| %s pods: removal (%s parallel `reaperctl rm -f`), median (ms) | %s | %s | %s |\n' "$NPODS" "$NPODS" \
      "$(ms "${Q[reaper-v2,rm,p50]}")" "$(ms "${Q[runc,rm,p50]}")" "$(ratio "${Q[reaper-v2,rm,p50]}" "${Q[runc,rm,p50]}")"
    printf '| parallel rounds with all pods exit 0 | %s/%s | %s/%s | - |\n' \
      "${Q[reaper-v2,exit,n]}" "$ROUNDS" "${Q[runc,exit,n]}" "$ROUNDS"
    summary cri_pods "$NPODS"
    summary cri_pps_reaper "$(pps "${Q[reaper-v2,exit,p50]}")"
    summary cri_pps_runc "$(pps "${Q[runc,exit,p50]}")"
    if [[ $FLOOR == 1 ]]; then
      printf '| floor shim: %s pods in parallel, pods per second (median of %s/%s rounds): containerd'"'"'s own rate | floor: %s | %s | floor/runc %s× (the highest reachable) |\n' \
        "$NPODS" "${Q[floor,exit,n]}" "$ROUNDS" "$(pps "${Q[floor,exit,p50]}")" "$(pps "${Q[runc,exit,p50]}")" \
        "$(ratio "$(pps "${Q[floor,exit,p50]}")" "$(pps "${Q[runc,exit,p50]}")")"
      summary cri_pps_floor "$(pps "${Q[floor,exit,p50]}")"
    fi
  fi
  if phase memory; then
    declare -A M=()
    for m in rss pss uss anon sb_rss sb_pss total_pss; do
      for h in "${HANDLERS[@]}"; do
        read -r "M[$h,$m,n]" _ "M[$h,$m,p50]" _ "M[$h,$m,min]" "M[$h,$m,max]" < <(printf '%s' "${MEM[$h,$m]:-}" | stats)
      done
    done
    kb() { [[ $1 == - ]] && echo - || awk -v k="$1" 'BEGIN { printf "%d kB (%.2f MiB)", k, k / 1024 }'; }
    for m in rss pss uss anon sb_rss sb_pss total_pss; do
      case $m in
        rss) label="shim **RSS** per 3-container pod" ;;
        pss) label="shim PSS per 3-container pod" ;;
        uss) label="shim USS (private) per 3-container pod" ;;
        anon) label="shim anonymous memory per 3-container pod" ;;
        sb_rss) label="sandbox process RSS (reaper: \`${MEM[reaper-v2,sb_what]:-?}\`; runc: \`${MEM[runc,sb_what]:-?}\`)" ;;
        sb_pss) label="sandbox process PSS" ;;
        total_pss) label="shim + sandbox process PSS" ;;
      esac
      printf '| %s, median of %s | %s | %s | %s |\n' "$label" "$MEM_ROUNDS" "$(kb "${M[reaper-v2,$m,p50]}")" \
        "$(kb "${M[runc,$m,p50]}")" "$(ratio "${M[reaper-v2,$m,p50]}" "${M[runc,$m,p50]}")"
    done
    printf '| shim processes / threads per 3-container pod | %s / %s | %s / %s | - |\n' \
      "${MEM[reaper-v2,shims]:-?}" "${MEM[reaper-v2,threads]:-?}" "${MEM[runc,shims]:-?}" "${MEM[runc,threads]:-?}"
    for m in rss pss total_pss; do
      summary "cri_mem_reaper_$m" "${M[reaper-v2,$m,p50]%.0}"
      summary "cri_mem_runc_$m" "${M[runc,$m,p50]%.0}"
    done
  fi
  if phase privileges; then
    declare -A P=()
    for m in rps_exit launch_exit; do
      for h in plain secure; do
        read -r "P[$h,$m,n]" "P[$h,$m,p10]" "P[$h,$m,p50]" "P[$h,$m,p90]" _ _ < <(printf '%s' "${LAT[$h,$m]:-}" | stats)
      done
    done
    echo
    echo "| Reaper pod start (ms) | plain | RuntimeDefault seccomp + drop ALL | secure/plain |"
    echo "|---|---:|---:|---:|"
    for m in rps_exit launch_exit; do
      for q in p50 p10 p90; do
        [[ $m == rps_exit || $q == p50 ]] || continue
        printf '| %s, %s | %s | %s | %s |\n' \
          "$([[ $m == rps_exit ]] && echo "**RunPodSandbox → container exit**" || echo "reaperctl launch → container exit")" \
          "$([[ $q == p50 ]] && echo median || echo "$q")" "$(ms "${P[plain,$m,$q]}")" "$(ms "${P[secure,$m,$q]}")" \
          "$(ratio "${P[secure,$m,$q]}" "${P[plain,$m,$q]}")"
      done
    done
    printf '| samples (each, + %s warm-up) | %s/%s | %s/%s | - |\n' "$WARMUP" "${P[plain,rps_exit,n]}" "$RUNS" \
      "${P[secure,rps_exit,n]}" "$RUNS"
    summary cri_priv_ratio "$(ratio "${P[secure,rps_exit,p50]}" "${P[plain,rps_exit,p50]}")"
  fi
  echo
  echo "## Targets"
  echo
  if phase privileges; then
    local pr
    pr=$(ratio "${P[secure,rps_exit,p50]}" "${P[plain,rps_exit,p50]}")
    echo "- pod start with RuntimeDefault seccomp + drop ALL ≤ 1.05× without: $(awk -v r="$pr" 'BEGIN { print (r != "n/a" && r <= 1.05) ? "met" : "NOT met" }') (ratio $pr)"
  fi
  if phase latency; then
    local r
    r=$(ratio "${S[reaper-v2,rps_exit,p50]}" "${S[runc,rps_exit,p50]}")
    echo "- RunPodSandbox → exit median ≤ 0.5× runc: $(awk -v r="$r" 'BEGIN { print (r != "n/a" && r <= 0.5) ? "met" : "NOT met" }') (ratio $r)"
  fi
  if phase memory; then
    local k=${M[reaper-v2,rss,max]}
    echo "- shim RSS ≤ 2.5 MiB (2560 kB) per pod: $(awk -v k="$k" 'BEGIN { print (k != "-" && k + 0 <= 2560) ? "met" : "NOT met" }') (worst of $MEM_ROUNDS rounds: ${k%.0} kB)"
  fi
  if [[ -n $FAILURE_REPORT ]]; then
    echo
    echo "## Failures"
    printf '%s\n' "$FAILURE_REPORT"
  fi
}

# ---------------------------------------------------------------------------

# bench/density.sh sources this file with BENCH_CRI_LIB=1 for the setup and helpers above.
if [[ ${BENCH_CRI_LIB:-0} == 1 ]]; then return 0; fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
trap bench_exit EXIT
trap 'exit 130' INT TERM
cri_start
bench_import_pause_image
blog "reaperctl $REAPERCTL, handlers ${HANDLERS[*]}, sandbox image $PAUSE_IMAGE"

! phase latency || measure_latency
! phase parallel || measure_parallel
! phase memory || measure_memory
! phase privileges || measure_privileges

report
((${#FAILED[@]} == 0))
