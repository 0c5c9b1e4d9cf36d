#!/usr/bin/env bash
# Kubernetes benchmark: what a user sees through kubectl, Reaper (runtimeClassName reaper-v2)
# vs runc (the node's default runtime) on the SAME one-node cluster (tests/k8s/lib.sh: the
# same kubelet, containerd 2.3 and API server), as ratios. Markdown report on stdout.
#
#   bench/k8s.sh                    # as root
#
# Metrics:
#   - pod start: `kubectl create` of a hostNetwork Pod (`sleep`) -> the Pod seen `Running` by a
#     `kubectl get pods -w` watch (the time the watch line arrives), BENCH_K8S_PODS pods per
#     runtime, one at a time, runtimes alternating pod by pod;
#   - pod run to completion: the same for a Pod running `true` -> `Succeeded`;
#   - exec round trip: wall time of `kubectl exec POD -- true` (API server -> kubelet -> CRI
#     streaming -> shim), BENCH_K8S_EXECS per runtime, alternating.
# Knobs: BENCH_K8S_PODS (default 30), BENCH_K8S_EXECS (default 30), REAPER_BIN_DIR,
# REAPER_PEERS_DIR, E2E_KEEP=1 (keep the cluster's temp dir and logs).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/k8s/lib.sh
source "$repo/tests/k8s/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root"
PODS=${BENCH_K8S_PODS:-30}
EXECS=${BENCH_K8S_EXECS:-30}
CMDLINE="$0 $*"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

k8s_install_trap
k8s_start

WATCH_LOG=$E2E_DIR/data/bench-watch.log
: >"$WATCH_LOG"
# the watch's lines are stamped as they arrive; $! is kubectl's (timeout's) pid
K8S_KUBECTL_TIMEOUT=0 kcn get pods -w -o 'jsonpath={.metadata.name} {.status.phase}{"\n"}' 2>/dev/null \
  > >(while read -r name phase; do echo "$EPOCHREALTIME $name $phase"; done >>"$WATCH_LOG") &
WATCH_PID=$!
trap 'rc=$?; kill $WATCH_PID 2>/dev/null; k8s_stop; exit $rc' EXIT

# first time the watch saw pod NAME in PHASE (seconds, µs resolution)
seen_at() { awk -v n="$1" -v p="$2" '$2 == n && $3 == p { print $1; exit }' "$WATCH_LOG"; }
seen() { [[ -n $(seen_at "$1" "$2") ]]; }

# one_pod RUNTIME NAME CMD PHASE: prints the latency in ms
one_pod() {
  local rt=$1 name=$2 cmd=$3 phase=$4 policy=Always y t0 t1
  [[ $phase == Succeeded ]] && policy=Never
  if [[ $rt == runc ]]; then y=$(K8S_RUNTIME_CLASS="" k8s_pod_yaml "$name" "$policy" "$(k8s_container main "$cmd")")
  else y=$(k8s_pod_yaml "$name" "$policy" "$(k8s_container main "$cmd")"); fi
  t0=$EPOCHREALTIME
  kc create -f - <<<"$y" >/dev/null
  wait_until 180 seen "$name" "$phase" || die "pod $name ($rt) not $phase within 180 s"
  t1=$(seen_at "$name" "$phase")
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
}

# stats: p10 median p90 of numbers on stdin (linear interpolation)
stats() {
  sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "- - -"; exit }
    split("0.1 0.5 0.9", q, " ")
    for (i = 1; i <= 3; i++) { r = 1 + q[i] * (NR - 1); lo = int(r); f = r - lo
      x = v[lo] + (lo < NR ? f * (v[lo + 1] - v[lo]) : 0); printf "%.1f%s", x, (i < 3 ? " " : "\n") } }'
}

declare -A LAT=()
log "pod start: $PODS pods per runtime, alternating"
for ((i = 1; i <= PODS; i++)); do
  for rt in reaper runc; do
    LAT[$rt,start]+="$(one_pod "$rt" "b-$rt-run-$i" 'exec sleep 100000' Running) "
  done
done
log "pod start to completion: $PODS pods per runtime"
for ((i = 1; i <= PODS; i++)); do
  for rt in reaper runc; do
    LAT[$rt,done]+="$(one_pod "$rt" "b-$rt-true-$i" 'true' Succeeded) "
  done
done
log "exec round trip: $EXECS per runtime"
for ((i = 1; i <= EXECS; i++)); do
  for rt in reaper runc; do
    t0=$EPOCHREALTIME
    kcn exec "b-$rt-run-1" -- true
    t1=$EPOCHREALTIME
    LAT[$rt,exec]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) * 1000 }') "
  done
done
log "deleting the benchmark pods"
kcn delete pods --all --wait=true --timeout=300s >/dev/null
kill "$WATCH_PID" 2>/dev/null || true

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
cat <<EOF
# Reaper Kubernetes benchmark

- Command: \`$CMDLINE\` ($PODS pods and $EXECS execs per runtime)
- Cluster: tests/k8s/lib.sh — kubelet, kube-apiserver, controller-manager, scheduler $(basename "$(dirname "$K8S_BIN")"), $(basename "$(dirname "$K8S_ETCD_BIN")"), containerd $K8S_CONTAINERD_VERSION; Reaper from $REAPER_BIN_DIR ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')); runc $(runc --version | awk 'NR == 1 { print $3 }') with containerd's runc shim of the same release
- Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)
- Load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)
- Date: $(date -u +%Y-%m-%dT%H:%MZ)

| Metric (ms) | reaper p10 / median / p90 | runc p10 / median / p90 | reaper/runc (median) |
|---|---:|---:|---:|
EOF
for m in start done exec; do
  case $m in
    start) label="create → \`Running\` seen by a watch" ;;
    done) label="create → \`Succeeded\` seen by a watch (\`true\`)" ;;
    exec) label="\`kubectl exec POD -- true\` round trip" ;;
  esac
  read -r a10 a50 a90 <<<"$(tr ' ' '\n' <<<"${LAT[reaper,$m]}" | sed '/^$/d' | stats)"
  read -r b10 b50 b90 <<<"$(tr ' ' '\n' <<<"${LAT[runc,$m]}" | sed '/^$/d' | stats)"
  echo "| $label | $a10 / $a50 / $a90 | $b10 / $b50 / $b90 | $(ratio "$a50" "$b50") |"
done
