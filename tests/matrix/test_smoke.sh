# shellcheck shell=bash
# The smoke tier of the containerd version matrix (issue 13, item 2), through CRI: pod lifecycle
# with exit codes and logs, exec, a containerd restart under a running grouped pod, node-wide
# stats with a Reaper pod and a runc pod, and (registered last by run.sh through
# matrix_register_final) teardown with nothing left and containerd's log free of the version
# traps. Exec and attach with a terminal come from tests/cri/test_interactive.sh, pod
# annotations from tests/cri/test_annotations.sh. Sourced by tests/matrix/run.sh.
#
# Container commands run in the NODE's /bin/sh (dash) under Reaper and in the image's busybox sh
# under runc: POSIX sh only.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# shellcheck source=tests/cri/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cri/faults_lib.sh"

# Sandbox ids of this tier's pods (for the leftover checks of the teardown test).
matrix_ids_file() { echo "$E2E_DIR/matrix-ids"; }
matrix_record_ids() { # <pod>: records the pod's sandbox and container ids
  rctl inspect "$1" | grep -oE ' id=[0-9a-f]{64}' | cut -d= -f2 >>"$(matrix_ids_file)"
}

# The containerd log from byte <offset> on.
matrix_log_since() { tail -c +"$(( $1 + 1 ))" "$E2E_DIR/containerd.log"; }
matrix_log_size() { stat -c %s "$E2E_DIR/containerd.log"; }

# ---------------------------------------------------------------------------

# Init container, then two containers exiting 0 and 3: exit codes, reasons, the CRI log files
# and `reaperctl logs`.
t_smoke_lifecycle() {
  local pod f out err rc=0
  pod=$(pod_name life) f=$E2E_DIR/data/$pod.yaml out=$E2E_DIR/data/$pod.out err=$E2E_DIR/data/$pod.err
  track "$pod"
  write_pod "$f" "$pod" Never \
    "$(container_yaml c0 "echo c0-out; echo c0-err >&2; exit 0")
$(container_yaml c1 "echo c1-out; exit 3")" \
    "$(container_yaml init "echo init-out")"
  rctl run --timeout 90 -f "$f" >"$out" 2>"$err" || rc=$?
  cat "$err"
  matrix_record_ids "$pod"
  assert_eq 3 "$rc" "reaperctl run exit status (first non-zero container exit code)"
  assert_eq 0 "$(inspect_field "$pod" init exit)" "init exit code"
  assert_eq 0 "$(inspect_field "$pod" c0 exit)" "c0 exit code"
  assert_eq Completed "$(inspect_field "$pod" c0 reason)" "c0 reason"
  assert_eq 3 "$(inspect_field "$pod" c1 exit)" "c1 exit code"
  assert_eq Error "$(inspect_field "$pod" c1 reason)" "c1 reason"
  local init_done c0_start
  init_done=$(inspect_field "$pod" init finished) c0_start=$(inspect_field "$pod" c0 started)
  (( init_done > 0 && init_done <= c0_start )) || fail "init finished at $init_done, c0 started at $c0_start"
  assert_match "$(cat "$(inspect_field "$pod" c0 log)")" \
    '^[0-9T:.Z+-]+ stdout F c0-out' "CRI log record of c0's stdout"
  assert_contains "$(cat "$(inspect_field "$pod" c0 log)")" " stderr F c0-err" "CRI log record of c0's stderr"
  assert_eq "c0-out
c0-err" "$(rctl logs "$pod" -c c0 2>&1 | sort -r)" "reaperctl logs c0"
  assert_eq "c1-out" "$(rctl logs "$pod" -c c1)" "reaperctl logs c1"
  assert_eq "init-out" "$(rctl logs "$pod" -c init)" "reaperctl logs init"
  rctl rm -f "$pod"
}

# ExecSync: stdout and exit code, in a running container.
t_smoke_exec() {
  local pod f out rc=0
  pod=$(pod_name exec) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  write_pod "$f" "$pod" Never "$(container_yaml main "exec sleep 1000")"
  rctl run -d -f "$f" >/dev/null
  matrix_record_ids "$pod"
  assert_wait 30 "container running" container_state_is "$pod" main Running
  out=$(rctl exec "$pod" -- /bin/sh -c 'echo from-exec; exit 4') || rc=$?
  assert_eq from-exec "$out" "exec stdout"
  assert_eq 4 "$rc" "exec exit code"
  rctl rm -f "$pod"
}

# containerd stopped (SIGTERM) and started again under a running pod whose sandbox and two
# containers share one shim: 2.x calls Pids on every shim when it starts and removes app
# containers that report none ("cleaning leaked shim process"). The containers must survive,
# stay reachable (exec), and report an exit that happens after the restart.
t_smoke_restart_grouped_pod() {
  local pod f shim shims2 gate mark
  pod=$(pod_name restart) f=$E2E_DIR/data/$pod.yaml gate=$E2E_DIR/data/$pod.go
  track "$pod"
  write_pod "$f" "$pod" Never \
    "$(container_yaml a "while [ ! -e $gate ]; do sleep 0.1; done; exit 5")
$(container_yaml b "exec sleep 1000")"
  rctl run -d -f "$f" >/dev/null
  matrix_record_ids "$pod"
  assert_wait 30 "both containers running" eval 'container_state_is "$pod" a Running && container_state_is "$pod" b Running'
  shim=$(faults_shim_pids)
  assert_eq 1 "$(wc -w <<<"$shim")" "shim processes serving the pod (pids: $shim)"

  mark=$(matrix_log_size)
  faults_stop_containerd TERM
  faults_start_containerd
  kill -0 "$shim" || fail "the pod's shim $shim died across the restart"
  local since
  since=$(matrix_log_since "$mark")
  if grep -F "cleaning leaked shim process" <<<"$since"; then
    fail "containerd cleaned up a live container's shim as leaked after the restart"
  fi
  assert_eq Running "$(inspect_field "$pod" a state)" "container a after the restart"
  assert_eq Running "$(inspect_field "$pod" b state)" "container b after the restart"
  assert_eq after-restart "$(rctl exec "$pod" -c b -- echo after-restart)" "exec in b after the restart"
  shims2=$(faults_shim_pids)
  assert_eq "$shim" "$shims2" "shim processes after the restart"

  touch "$gate"
  assert_wait 30 "container a exited after the restart" container_state_is "$pod" a Exited
  assert_eq 5 "$(inspect_field "$pod" a exit)" "exit code of a (exited after the restart)"
  assert_eq Running "$(inspect_field "$pod" b state)" "container b still running"
  rctl rm -f "$pod"
  assert_wait 30 "the pod's shim exits after the pod is removed" pid_gone "$shim"
}

# Node-wide ListContainerStats (what kubelet's summary API calls) with a Reaper pod next to a
# runc pod: it must succeed and list both containers with their memory (columns: CPU, MEMORY =
# working set, USAGE, RSS).
t_smoke_stats() {
  local rpod upod f out rc=0
  rpod=$(pod_name statsr) upod=$(pod_name statsu)
  track "$rpod"
  track "$upod"
  f=$E2E_DIR/data/$rpod.yaml
  write_pod "$f" "$rpod" Never "$(container_yaml rmain "exec sleep 1000")"
  rctl run -d -f "$f" >/dev/null
  f=$E2E_DIR/data/$upod.yaml
  CRI_HANDLER=runc write_pod "$f" "$upod" Never "$(container_yaml umain "exec sleep 1000")"
  rctl run -d -f "$f" >/dev/null
  matrix_record_ids "$rpod"
  matrix_record_ids "$upod"
  assert_wait 30 "reaper container running" container_state_is "$rpod" rmain Running
  assert_wait 30 "runc container running" container_state_is "$upod" umain Running
  out=$(rctl stats 2>&1) || rc=$?
  echo "$out"
  assert_eq 0 "$rc" "reaperctl stats (node-wide ListContainerStats) exit status: $out"
  assert_match "$out" ' rmain +[0-9]+ +[1-9][0-9]* +[0-9]+ +[0-9]+$' "the Reaper container with its memory in the node's stats"
  assert_match "$out" ' umain +[0-9]+ +[1-9][0-9]* +[0-9]+ +[0-9]+$' "the runc container with its memory in the node's stats"
  rctl rm -f "$rpod" "$upod"
}

# The +options tier: containerd read the [options] table of the reaper-v2 runtime (so 2.0-2.2
# sent it to `start` as the options Any and 2.3 inside BootstrapParams, and every pod above
# started with it).
t_smoke_options_table_loaded() {
  local dump
  dump=$(containerd --config "$E2E_DIR/config.toml" config dump 2>/dev/null)
  assert_match "$dump" "runtimes\.reaper-v2\.options\]" "the options table in containerd's config dump"
  assert_contains "$(grep -A3 'runtimes.reaper-v2.options]' <<<"$dump")" "${CRI_RUNTIME_OPTIONS%% *}" \
    "the option key in containerd's config dump"
}

# ---------------------------------------------------------------------------
# Registered last (by run.sh), after every other test of the tier.

# Every pod removed: nothing of this tier is left (shims, sockets, bundles, CRI state, cgroups,
# mounts, workload processes).
t_smoke_teardown() {
  local ids id left="" addr
  rctl -q rm --all -f
  assert_wait 30 "no pods listed" eval '[[ -z $(rctl ps | awk "NR > 1") ]]'
  assert_wait 30 "no shims of this containerd" faults_no_shims
  assert_empty "$(e2e_bundles | tr '\n' ' ')" "task bundles left in the state dir"
  assert_wait 10 "no workload processes left" eval '[[ -z $(e2e_marked_pids) ]]'
  assert_empty "$(e2e_zombies)" "zombies parented by containerd"
  ids=$(sort -u "$(matrix_ids_file)" 2>/dev/null)
  [[ -n $ids ]] || fail "no pod ids recorded by the tier's tests"
  # shellcheck disable=SC2086 # one id per word
  left=$(faults_leftovers $ids)
  assert_empty "$left" "leftovers of this tier's pods"
  for id in $ids; do  # Reaper's socket of a pod is named after its sandbox id (the group)
    addr=$SHIM_SOCK_DIR/$(printf '%s' "$E2E_ADDR/k8s.io/$id" | sha256sum | cut -d' ' -f1)
    [[ ! -e $addr ]] || left+="$addr "
  done
  assert_empty "$left" "shim sockets left in $SHIM_SOCK_DIR"
}

# containerd's log over the whole tier (restart included): the version traps of
# docs/installation.md "Supported containerd versions".
t_smoke_log_runtime_info() {
  local hits
  hits=$(grep -F "failed to load runtime info" "$E2E_DIR/containerd.log" | head -n 3) || true
  assert_empty "$hits" "containerd could not run the shim's -info"
}
t_smoke_log_unknown_keys() {
  local hits
  hits=$(grep -F "Ignoring unknown key" "$E2E_DIR/containerd.log" | head -n 5) || true
  assert_empty "$hits" "containerd ignored keys of the test config (wrong path for this version)"
}

register_test smoke_lifecycle t_smoke_lifecycle
register_test smoke_exec t_smoke_exec
register_test smoke_restart_grouped_pod t_smoke_restart_grouped_pod
register_test smoke_stats t_smoke_stats

matrix_register_final() {
  [[ -z ${CRI_RUNTIME_OPTIONS:-} ]] || register_test smoke_options_table_loaded t_smoke_options_table_loaded
  register_test smoke_teardown t_smoke_teardown
  register_test smoke_log_runtime_info t_smoke_log_runtime_info
  register_test smoke_log_unknown_keys t_smoke_log_unknown_keys
}
