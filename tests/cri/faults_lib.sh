# shellcheck shell=bash
# Helpers of the fault tests (tests/cri/test_faults.sh): restarting the private containerd
# with the same config, state and root, and finding what a pod leaves behind.
# Sourced by test_faults.sh (which run.sh sources after lib.sh).

# A restarted containerd is a child of the test's subshell, so the runner's teardown learns its
# pid from this file (e2e_stop_containerd in tests/e2e/lib.sh reads it).
faults_pid_file() { echo "$E2E_DIR/containerd.pid"; }

# Gone, or a zombie nobody reaped yet (kill -0 still succeeds on a zombie).
faults_proc_dead() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [[ ${stat%% *} == Z ]]
}

# faults_stop_containerd <signal>: stops the private containerd with TERM (what systemd does)
# or KILL, and waits until it is gone and its sockets no longer answer.
faults_stop_containerd() {
  local sig=$1 pid=$E2E_CONTAINERD_PID
  [[ -n $pid ]] || fail "no containerd pid"
  kill "-$sig" "$pid" || fail "kill -$sig containerd $pid"
  assert_wait 60 "containerd $pid gone after SIG$sig" faults_proc_dead "$pid"
  wait "$pid" 2>/dev/null || true   # reaps it if this shell started it
  ! containerd_answers || fail "containerd still answers after SIG$sig"
}

# faults_start_containerd: starts containerd again exactly as e2e_start_containerd did (same
# config, root, state, sockets, PATH and REAPER_CONFIG; the log is appended to) and waits
# until CRI answers.
faults_start_containerd() {
  (cd "$E2E_DIR" && PATH="$E2E_DIR/bin:$PATH" REAPER_CONFIG="$E2E_DIR/reaper.toml" \
      exec containerd --config "$E2E_DIR/config.toml" \
      >>"$E2E_DIR/containerd.log" 2>&1 </dev/null) &
  E2E_CONTAINERD_PID=$!
  disown "$E2E_CONTAINERD_PID"  # no job report when a later test stage kills it
  echo "$E2E_CONTAINERD_PID" >"$(faults_pid_file)"
  assert_wait 60 "restarted containerd answers CRI" cri_answers
  log "containerd restarted (pid $E2E_CONTAINERD_PID)"
}

# faults_restart_containerd <signal> <command...>: stop containerd, run the command while it is
# down (it must not need containerd), start it again.
faults_restart_containerd() {
  local sig=$1
  shift
  faults_stop_containerd "$sig"
  "$@"
  faults_start_containerd
}

# faults_inspect <pod>: reaperctl inspect, once (callers pick fields with faults_field).
faults_inspect() { rctl inspect "$1"; }

# faults_field <inspect-output> <container|pod> <field>
faults_field() {
  awk -v c="$2" -v f="$3" '
    ($1 == "pod" && c == "pod") || ($1 == "container" && $2 == "name=" c) {
      for (i = 2; i <= NF; i++) if (index($i, f "=") == 1) v = substr($i, length(f) + 2)
    }
    END { print v }' <<<"$1"
}

# faults_mark_pod <yaml> <marker>: adds FAULT_MARK=<marker> to every container's env.
faults_mark_pod() {
  sed -i "s|env: \[{name: E2E_MARK|env: [{name: FAULT_MARK, value: $2}, {name: E2E_MARK|" "$1"
}

# Processes whose environment holds FAULT_MARK=<marker> exactly (one grep over every
# /proc/<pid>/environ: a process per pid is too slow on a loaded machine).
faults_marked_pids() {
  { grep -lsazxF -- "FAULT_MARK=$1" /proc/[0-9]*/environ || true; } | awk -F/ '{ print $3 }'
}
faults_no_marked_pids() { [[ -z $(faults_marked_pids "$1") ]]; }

# faults_shim_socket <sandbox-id>: the path of the pod's shim socket (from the bundle's address).
faults_shim_socket() {
  local addr
  addr=$(cat "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/$1/address") || return 1
  echo "${addr#unix://}"
}

# faults_leftovers <id>...: everything containerd, CRI or Reaper keeps for these sandbox and
# container ids that still exists (bundles, CRI state, cgroups, mounts), one line each.
faults_leftovers() {
  local id p cg
  cg=$(cgroup2_root)/reaper/k8s.io
  for id in "$@"; do
    for p in "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/$id" \
             "$E2E_STATE/io.containerd.grpc.v1.cri/sandboxes/$id" \
             "$E2E_STATE/io.containerd.grpc.v1.cri/containers/$id" \
             "$E2E_DIR/root/io.containerd.grpc.v1.cri/sandboxes/$id" \
             "$E2E_DIR/root/io.containerd.grpc.v1.cri/containers/$id" \
             "$cg/$id"; do
      [[ ! -e $p ]] || echo "path $p"
    done
    grep -F "$id" /proc/self/mountinfo | sed 's/^/mount /' || true
  done
}

# faults_counter_gaps <log>: checks a CRI log whose stdout lines are 0, 1, 2, ... and prints
# what is wrong (a malformed record, a gap, a duplicate, another stream); prints nothing if
# the numbers run from 0 to the last without a gap or a duplicate.
faults_counter_gaps() {
  local line n=0 want=0 re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}) stdout F ([0-9]+)$'
  while IFS= read -r line; do
    n=$((n + 1))
    if [[ ! $line =~ $re ]]; then
      echo "line $n: malformed or unexpected record: $line"
      continue
    fi
    if (( 10#${BASH_REMATCH[3]} != want )); then echo "line $n: expected $want, got ${BASH_REMATCH[3]}"; fi
    want=$(( 10#${BASH_REMATCH[3]} + 1 ))
  done <"$1"
  (( n > 0 )) || echo "empty log"
}

# The last counter value in a CRI log (-1 if none yet).
faults_counter_last() {
  local v
  v=$(awk '$2 == "stdout" && $3 == "F" && $4 ~ /^[0-9]+$/ { v = $4 } END { print v }' "$1" 2>/dev/null)
  echo "${v:--1}"
}
faults_counter_beyond() { (( $(faults_counter_last "$1") > $2 )); }

# The overlay group of the CRI suite's pods (Kubernetes namespace "default").
faults_group_dir() { echo "$E2E_DIR/reaper/groups/k8s-default"; }

# Shims of this run's containerd, like e2e_shim_pids but with one grep instead of a process per
# pid: processes named containerd-shim* whose environment has TTRPC_ADDRESS=<our dir>...
faults_shim_pids() {
  local f p comm
  for f in $(grep -lsaF -- "TTRPC_ADDRESS=$E2E_DIR/" /proc/[0-9]*/environ || true); do
    p=${f#/proc/} p=${p%%/*}
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    [[ $comm == containerd-shim* ]] && echo "$p"
  done
  return 0
}
faults_shim_count() { faults_shim_pids | wc -l; }
faults_no_shims() { [[ -z $(faults_shim_pids) ]]; }
