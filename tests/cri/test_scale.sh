# shellcheck shell=bash
# Soak and concurrency through CRI (issue 8, items 3 and 4), driven by reaperctl.
#   soak_cri      CRI_SOAK_CYCLES (default 200) pods, one after another, each
#                 `reaperctl run --rm` of a container exiting with its own code: every exit
#                 status is right, the shim count is back to the baseline after every cycle, and
#                 mounts, state dirs, cgroups, log dirs and containerd's fds do not grow between
#                 cycle CRI_SOAK_WARMUP (default 20) and the end.
#   parallel_100  CRI_PARALLEL_PODS (default 100) pods started at once (one `reaperctl run -d`
#                 each), each container exiting with its own code: all start, all exit with the
#                 right code (ContainerStatus via reaperctl inspect), and after their removal
#                 nothing is left (shim, process, mount, socket, state dir, cgroup, log dir).
# Sourced by run.sh (which provides lib.sh, the private containerd with CRI and the image).
# Container commands run in the NODE's /bin/sh (dash): POSIX sh only.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

CRI_SOAK_CYCLES=${CRI_SOAK_CYCLES:-200}
CRI_SOAK_WARMUP=${CRI_SOAK_WARMUP:-20}
CRI_PARALLEL_PODS=${CRI_PARALLEL_PODS:-100}
# containerd is a Go program with pooled connections (the shims' ttrpc clients come and go):
# its fd count may move by a few between samples; a per-pod leak over 180 pods would not fit.
CRI_SOAK_FD_SLACK=${CRI_SOAK_FD_SLACK:-16}

scale_cgroup_dir() { echo "$(cgroup2_root)/reaper/k8s.io"; }

# Everything a pod leaves on the node while it exists: containerd's bundles and CRI state,
# Reaper's state root (upper layers excluded), pod log dirs, reaperctl's state, cgroups,
# snapshots.
scale_state() {
  local d cg
  cg=$(scale_cgroup_dir)
  for d in "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io" \
           "$E2E_STATE/io.containerd.grpc.v1.cri/sandboxes" "$E2E_STATE/io.containerd.grpc.v1.cri/containers" \
           "$E2E_DIR/root/io.containerd.grpc.v1.cri/sandboxes" "$E2E_DIR/root/io.containerd.grpc.v1.cri/containers" \
           "$E2E_DIR/pod-logs" "$E2E_DIR/reaperctl/pods"; do
    [[ -d $d ]] && find "$d" -mindepth 1 -maxdepth 1
  done
  [[ -d $E2E_DIR/reaper ]] && find "$E2E_DIR/reaper" -path '*/upper/*' -prune -o -print
  # <cgroup2>/reaper/k8s.io is shared by every CRI containerd on the node: only our ids count.
  if [[ -d $cg ]]; then
    comm -12 <(find "$cg" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort) \
      <(grep -oE '[0-9a-f]{64}' "$E2E_DIR/containerd.log" | sort -u) | sed "s|^|$cg/|"
  fi
  ctrp snapshots ls 2>/dev/null | awk 'NR > 1 { print "snapshot " $1 }'
  return 0
}

fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# scale_sample <file>: "key value" lines plus the listings (<file>.mounts, <file>.state).
scale_sample() {
  e2e_node_mounts >"$1.mounts"
  scale_state | sort >"$1.state"
  {
    echo "shims $(scale_shim_count)"
    echo "mounts $(wc -l <"$1.mounts")"
    echo "state $(wc -l <"$1.state")"
    echo "containerd_fds $(fd_count "$E2E_CONTAINERD_PID")"
  } >"$1"
}
sample_value() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
scale_flat() { # <reference> <new>: take the new sample; shims, mounts, state equal
  local k
  scale_sample "$2"
  for k in shims mounts state; do
    [[ $(sample_value "$1" "$k") == "$(sample_value "$2" "$k")" ]] || return 1
  done
}

# e2e_shim_pids with builtins only (it forks readlink for every process and grep for every
# shim on the node, which costs seconds per call on a loaded 2-core machine): candidates by
# comm, then the same test (our temp dir in argv, or in TTRPC_ADDRESS).
scale_shim_pids() {
  local p comm args env
  for p in /proc/[0-9]*; do
    read -r comm 2>/dev/null <"$p/comm" || continue
    [[ $comm == containerd-shim* && ${p#/proc/} != "$E2E_CONTAINERD_PID" ]] || continue
    mapfile -d '' args 2>/dev/null <"$p/cmdline" || continue
    mapfile -d '' env 2>/dev/null <"$p/environ" || continue
    if [[ " ${args[*]} " == *"$E2E_DIR"* || " ${env[*]} " == *" TTRPC_ADDRESS=$E2E_DIR"* ]]; then
      echo "${p#/proc/}"
    fi
  done
  return 0
}
scale_shim_count() { scale_shim_pids | wc -l; }
# scale_stable <sample>: true once two samples in a row agree (nothing in flight).
scale_stable() {
  if [[ -f $1 ]]; then cp "$1" "$1.prev"; else scale_sample "$1.prev"; fi
  scale_flat "$1.prev" "$1"
}

shims_are() { [[ $(scale_shim_count) == "$1" ]]; }

# EXIT trap of both tests: after a failure remove every pod reaperctl created (the tests run
# one at a time, so they are this test's or leftovers). Not `track`: its per-test safety net
# would make one reaperctl call per pod even after a success.
scale_end() {
  local rc=$?
  if (( rc != 0 )); then CRI_RPC_TIMEOUT=120 rctl -q rm --all -f >/dev/null 2>&1 || true; fi
  exit "$rc"
}

t_soak_cri() {
  [[ $CRI_SOAK_CYCLES =~ ^[1-9][0-9]*$ && $CRI_SOAK_WARMUP =~ ^[0-9]+$ ]] ||
    fail "CRI_SOAK_CYCLES and CRI_SOAK_WARMUP must be integers"
  (( CRI_SOAK_WARMUP < CRI_SOAK_CYCLES )) || fail "CRI_SOAK_WARMUP must be below CRI_SOAK_CYCLES"
  local i pod f rc code base t0 t1 s0=$E2E_DIR/data/soak-cri.warm s1=$E2E_DIR/data/soak-cri.end k v0 v1
  local err=$E2E_DIR/data/soak-cri.err ta tb t_run=0 t_check=0
  trap scale_end EXIT
  assert_wait 30 "no shims before the test" shims_are 0
  base=0
  t0=$(now_ms) t1=$(now_ms)
  for ((i = 1; i <= CRI_SOAK_CYCLES; i++)); do
    pod=$(pod_name "soak-$i") f=$E2E_DIR/data/soak-cri.yaml code=$((i % 120))
    write_pod "$f" "$pod" Never "$(container_yaml main "exit $code")"
    rc=0 ta=$(now_ms)
    rctl -q run --rm --timeout 60 -f "$f" </dev/null >/dev/null 2>"$err" || rc=$?
    [[ $rc == "$code" ]] || { cat "$err"; fail "cycle $i: reaperctl run --rm exited $rc, the container's code is $code"; }
    tb=$(now_ms)
    assert_wait 10 "cycle $i: shims back to $base" shims_are "$base"
    t_run=$((t_run + tb - ta)) t_check=$((t_check + $(now_ms) - tb))
    if (( i == CRI_SOAK_WARMUP )); then
      assert_wait 10 "resources stable after the warm-up" scale_stable "$s0"
      t1=$(now_ms)
    fi
  done
  echo "cycles: $CRI_SOAK_CYCLES in $(( $(now_ms) - t0 )) ms" \
    "($(( ($(now_ms) - t1) / (CRI_SOAK_CYCLES - CRI_SOAK_WARMUP) )) ms per cycle after the warm-up;" \
    "in total $t_run ms in reaperctl run --rm, $t_check ms counting shims)"
  [[ -s $s0 ]] || scale_sample "$s0" # CRI_SOAK_WARMUP=0: the reference is the end state
  wait_until 10 scale_flat "$s0" "$s1" || true
  echo "warm-up sample: $(tr '\n' ' ' <"$s0")"
  echo "end sample:     $(tr '\n' ' ' <"$s1")"
  for k in shims mounts state; do
    v0=$(sample_value "$s0" "$k") v1=$(sample_value "$s1" "$k")
    if [[ $v0 != "$v1" ]]; then
      if [[ -f $s0.$k ]]; then diff "$s0.$k" "$s1.$k" >&2 || true; fi
      fail "$k after cycle $CRI_SOAK_WARMUP: $v0, after cycle $CRI_SOAK_CYCLES: $v1"
    fi
  done
  v0=$(sample_value "$s0" containerd_fds) v1=$(sample_value "$s1" containerd_fds)
  (( v1 - v0 <= CRI_SOAK_FD_SLACK )) ||
    fail "containerd's fds grew from $v0 to $v1 (bound +$CRI_SOAK_FD_SLACK)"
  assert_empty "$(rctl ps | awk -v p="$(pod_name soak-)" 'index($2, p) == 1')" "soak pods still listed"
}

# ---------------------------------------------------------------------------

# Pods of the parallel test whose container is listed as Exited(code).
parallel_exited() {
  rctl ps 2>/dev/null | awk -v p="$(pod_name par-)" 'index($2, p) == 1 && $NF ~ /^main=Exited\(/ { n++ } END { print n + 0 }'
}
all_parallel_exited() { [[ $(parallel_exited) == "$CRI_PARALLEL_PODS" ]]; }

# scale_remove <pods...>: parallel `reaperctl rm -f`, each bounded by CRI_RPC_TIMEOUT.
scale_remove() {
  local pids=() p bad=0
  for p in "$@"; do
    rctl -q rm -f "$p" >/dev/null 2>>"$E2E_DIR/data/par-rm.err" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
  return "$bad"
}

# children_of " PID PID ... ": processes whose parent is one of the listed pids.
children_of() {
  local p stat rest
  for p in /proc/[0-9]*; do
    read -r stat 2>/dev/null <"$p/stat" || continue
    rest=${stat##*) }      # "state ppid ..."
    rest=${rest#* }
    [[ $1 == *" ${rest%% *} "* ]] && echo "${p#/proc/}"
  done
  return 0
}

pids_gone() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
paths_gone() { local p; for p in "$@"; do [[ -e $p ]] && return 1; done; return 0; }

t_parallel_100() {
  [[ $CRI_PARALLEL_PODS =~ ^[1-9][0-9]*$ ]] || fail "CRI_PARALLEL_PODS must be a positive integer"
  local n=$CRI_PARALLEL_PODS i pod pids=() rc bad=() t0 sb cid started ex st
  local pods=() sbs=() cids=() sbpids=() socks=() shims paths=() cg lim left addr cols=()
  local -A ps=()
  lim=$(awk '/^Max open files/ { print $4 " soft, " $5 " hard" }' "/proc/$E2E_CONTAINERD_PID/limits")
  echo "containerd RLIMIT_NOFILE: $lim"
  trap scale_end EXIT
  assert_wait 30 "no shims before the test" shims_are 0
  cg=$(scale_cgroup_dir)
  for ((i = 1; i <= n; i++)); do
    pod=$(pod_name "par-$i")
    pods+=("$pod")
    write_pod "$E2E_DIR/data/$pod.yaml" "$pod" Never "$(container_yaml main "exit $((i % 256))")"
  done
  t0=$(now_ms)
  for ((i = 1; i <= n; i++)); do
    rctl -q run -d --timeout 120 -f "$E2E_DIR/data/${pods[i-1]}.yaml" </dev/null \
      >"$E2E_DIR/data/${pods[i-1]}.out" 2>"$E2E_DIR/data/${pods[i-1]}.err" &
    pids+=($!)
  done
  for ((i = 1; i <= n; i++)); do
    rc=0
    wait "${pids[i-1]}" || rc=$?
    (( rc == 0 )) || bad+=("${pods[i-1]}: reaperctl run -d exited $rc: $(head -c 300 "$E2E_DIR/data/${pods[i-1]}.err")")
  done
  echo "$n x reaperctl run -d returned after $(( $(now_ms) - t0 )) ms"
  (( ${#bad[@]} == 0 )) || fail "${#bad[@]} of $n pods did not start; first: ${bad[0]}"
  wait_until 120 all_parallel_exited ||
    fail "only $(parallel_exited) of $n containers exited within 120 s"
  echo "all $n containers exited $(( $(now_ms) - t0 )) ms after the launch"
  shims=" $(scale_shim_pids | tr '\n' ' ') "
  assert_eq "$(scale_shim_pids | sort)" "$(e2e_shim_pids | sort)" "shims found by comm and by exe"
  t0=$(now_ms)

  # Each container exited with its own code: ContainerStatus of every pod through one
  # `reaperctl ps` (100 `reaperctl inspect` cost ~1 s each on a loaded 2-core machine), and
  # `reaperctl inspect` of three of them (sandbox id, StartedAt, exit code).
  while read -ra cols; do ps[${cols[1]}]=${cols[-1]}; done < <(rctl ps)
  for ((i = 1; i <= n; i++)); do
    pod=${pods[i-1]} st=${ps[${pods[i-1]}]:-}
    assert_eq "main=Exited($((i % 256)))" "$st" "$pod: container state (exit code) in reaperctl ps"
    read -r sb <"$E2E_DIR/data/$pod.out" || true
    [[ $sb =~ ^[0-9a-f]{64}$ ]] || fail "$pod: reaperctl run -d printed '$sb', not a sandbox id"
    sbs+=("$sb")
    addr=""
    read -r addr <"$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/$sb/address" || true
    socks+=("${addr#unix://}")
  done
  for i in 1 $(( (n + 1) / 2 )) "$n"; do
    pod=${pods[i-1]}
    read -r sb ex started < <(rctl inspect "$pod" | awk '
        { for (j = 2; j <= NF; j++) { k = $j; sub(/=.*/, "", k); v[$1, k] = substr($j, length(k) + 2) } }
        END { print v["pod", "id"], v["container", "exit"], v["container", "started"] }')
    assert_eq "${sbs[i-1]} $((i % 256))" "$sb $ex" "$pod: sandbox id and exit code in reaperctl inspect"
    (( started > 0 )) || fail "$pod: container never started (started=$started)"
  done
  mapfile -t cids < <(ctrp containers ls -q | grep -vxF -f <(printf '%s\n' "${sbs[@]}"))
  assert_eq "$n" "${#cids[@]}" "containerd containers besides the sandboxes"
  for ((i = 0; i < n; i++)); do
    sb=${sbs[i]} cid=${cids[i]}
    paths+=("$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/$sb" "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/$cid"
            "$E2E_STATE/io.containerd.grpc.v1.cri/sandboxes/$sb" "$E2E_STATE/io.containerd.grpc.v1.cri/containers/$cid"
            "$E2E_DIR/root/io.containerd.grpc.v1.cri/sandboxes/$sb" "$E2E_DIR/root/io.containerd.grpc.v1.cri/containers/$cid"
            "$cg/$sb" "$cg/$cid")
  done
  # The sandbox processes: the shims' children (every container has exited).
  mapfile -t sbpids < <(children_of "$shims")
  echo "status of $n pods read in $(( $(now_ms) - t0 )) ms"
  assert_eq "$n" "$(printf '%s\n' "${sbs[@]}" | sort -u | wc -l)" "distinct sandboxes"
  assert_eq "$n" "$(wc -w <<<"$shims")" "shims while the $n pods exist (one per pod)"
  (( ${#sbpids[@]} == n )) || fail "sandbox pids known for ${#sbpids[@]} of $n pods"
  for i in "${!socks[@]}"; do
    [[ -S ${socks[i]} ]] || fail "${pods[i]}: shim socket '${socks[i]}' missing while the pod exists"
  done

  t0=$(now_ms)
  rc=0
  scale_remove "${pods[@]}" || rc=$?
  (( rc == 0 )) || { cat "$E2E_DIR/data/par-rm.err"; fail "$rc of $n reaperctl rm -f failed"; }
  echo "removal of $n pods (parallel reaperctl rm -f): $(( $(now_ms) - t0 )) ms"
  # shellcheck disable=SC2086 # the list of pids
  assert_wait 30 "every shim gone" pids_gone $shims
  assert_wait 10 "every sandbox process gone" pids_gone "${sbpids[@]}"
  assert_empty "$(e2e_marked_pids)" "workload processes left"
  assert_wait 10 "sockets, state dirs and cgroups gone" paths_gone "${socks[@]}" "${paths[@]}"
  left=$(grep -F -e "$(pod_name par-)" "${sbs[@]/#/-e}" /proc/self/mountinfo || true)
  assert_empty "$left" "mounts of the pods"
  assert_empty "$(find "$E2E_DIR/pod-logs" -mindepth 1 -maxdepth 1 -name "*$(pod_name par-)*")" "pod log dirs"
  assert_empty "$(rctl ps | awk -v p="$(pod_name par-)" 'index($2, p) == 1')" "pods still listed"
}

register_test soak_cri t_soak_cri
register_test parallel_100 t_parallel_100
