# shellcheck shell=bash
# Faults (issue 8, items 1-2): containerd restarted under 20 running pods, and a pod's shim
# SIGKILLed. Sourced by run.sh (lib.sh: the private containerd with CRI, reaperctl as kubelet).
#
# Container commands run in the NODE's /bin/sh (dash): POSIX sh only.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# shellcheck source=tests/cri/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

# If a test fails while containerd is down, the next tests still get one.
faults_ensure_containerd() {
  containerd_answers || faults_start_containerd
}

# ---------------------------------------------------------------------------
# containerd restart: 20 pods (one counter, four that exit while containerd is down, fifteen
# that wait), containerd stopped with SIGTERM and later with SIGKILL, each time started again
# with the same config/state/root.

FAULTS_PODS=20

# Exit codes of the pods released during each outage (pods 1-2 in the first, 3-4 in the second).
faults_exit_code() { case $1 in 1) echo 7 ;; 2) echo 9 ;; 3) echo 11 ;; 4) echo 13 ;; esac; }

# faults_release <pod-index>...: ends the waiting workloads: opening the FIFO for writing
# completes once the pod's `read` opened it (no race, whichever comes first).
faults_release() {
  local i
  for i in "$@"; do
    timeout 30 sh -c "echo go >\"\$1\"" sh "$E2E_DIR/data/fault-$i.fifo" ||
      fail "pod $i never opened its FIFO"
  done
}

# faults_outage <signal> <pod-index>...: restarts containerd; while it is down, releases those
# pods and waits until their processes are gone (the shim saw the exits, and has to report
# them once containerd is back).
faults_outage() {
  local sig=$1
  shift
  faults_restart_containerd "$sig" faults_during_outage "$@"
}
faults_during_outage() {
  local i
  faults_release "$@"
  for i in "$@"; do
    assert_wait 60 "pod $i's process ${FAULTS_PID[i]} gone during the outage" pid_gone "${FAULTS_PID[i]}"
  done
  kill -0 "$FAULTS_COUNTER_PID" || fail "counter process died while containerd was down"
  for ((i = 0; i < FAULTS_PODS; i++)); do  # the shims keep running and listening
    ! faults_proc_dead "${FAULTS_SHIM[i]}" || fail "shim ${FAULTS_SHIM[i]} of pod $i died with containerd"
    [[ -S ${FAULTS_SOCK[i]} ]] || fail "shim socket ${FAULTS_SOCK[i]} of pod $i gone with containerd"
  done
}

# faults_main_is <pod> <state>: the pod's container "main" is in that state; its inspect
# output is left in FAULTS_OUT (one reaperctl call per poll).
faults_main_is() {
  FAULTS_OUT=$(faults_inspect "$1") && [[ $(faults_field "$FAULTS_OUT" main state) == "$2" ]]
}

# faults_expected <pod-index> "<exited pod indexes>": the pod's line in faults_ps_states.
faults_expected() {
  if [[ " $2 " == *" $1 "* ]]; then
    echo "${FAULTS_POD[$1]} Ready main=Exited($(faults_exit_code "$1"))"
  else
    echo "${FAULTS_POD[$1]} Ready main=Running"
  fi
}

# "<pod> <sandbox state> <containers>" of this test's pods, from one `reaperctl ps`.
faults_ps_states() {
  rctl ps | awk -v p="t-$E2E_RUNID-fault" 'index($2, p) == 1 { print $2, $4, $NF }' | sort
}

# faults_states_are "<exited pod indexes>": every pod is in its expected state (the last
# `reaperctl ps` is left in FAULTS_STATES for the failure message).
faults_states_are() {
  local i want
  want=$(for ((i = 0; i < FAULTS_PODS; i++)); do faults_expected "$i" "$1"; done | sort)
  FAULTS_STATES=$(faults_ps_states) || return 1
  [[ $FAULTS_STATES == "$want" ]]
}

# faults_check_after_restart <phase> "<exited pod indexes>" "<pods that exited this time>":
# CRI shows the exit codes of the pods that ended while containerd was down (reason Error),
# every other pod Running with its original process, still the child of its shim.
faults_check_after_restart() {
  local phase=$1 exited=$2 now=$3 i out
  wait_until 60 faults_states_are "$exited" ||
    fail "$phase: pod states after the restart: $(tr '\n' ';' <<<"$FAULTS_STATES")"
  for i in $now; do
    out=$(faults_inspect "${FAULTS_POD[i]}")
    assert_eq Error "$(faults_field "$out" main reason)" "$phase: reason of pod $i"
    assert_eq "$(faults_exit_code "$i")" "$(faults_field "$out" main exit)" "$phase: exit code of pod $i"
  done
  for ((i = 0; i < FAULTS_PODS; i++)); do
    [[ " $exited " == *" $i "* ]] && continue
    ! faults_proc_dead "${FAULTS_PID[i]}" || fail "$phase: process ${FAULTS_PID[i]} of pod $i gone"
    assert_eq "${FAULTS_SHIM[i]}" "$(awk '{ print $4 }' "/proc/${FAULTS_PID[i]}/stat")" \
      "$phase: parent of pod $i's process ${FAULTS_PID[i]}"
  done
}

t_containerd_restart() {
  local i f pod cmd mark out rc last sb cid sock ids=() log gaps want
  mark="restart-$E2E_RUNID"
  FAULTS_POD=() FAULTS_PID=() FAULTS_SHIM=() FAULTS_SOCK=()
  trap faults_ensure_containerd EXIT
  for ((i = 0; i < FAULTS_PODS; i++)); do
    pod=$(pod_name "fault$i") f=$E2E_DIR/data/$pod.yaml
    FAULTS_POD[i]=$pod
    track "$pod"
    if (( i == 0 )); then
      cmd="trap 'exit 6' TERM; i=0; while :; do echo \$i; i=\$((i+1)); sleep 0.05; done"
    elif (( i <= 4 )); then
      mkfifo "$E2E_DIR/data/fault-$i.fifo"
      cmd="read x <$E2E_DIR/data/fault-$i.fifo; exit $(faults_exit_code "$i")"
    else
      cmd="trap 'exit 5' TERM; sleep 1000 & wait"
    fi
    write_pod "$f" "$pod" Never "$(container_yaml main "$cmd")"
    faults_mark_pod "$f" "$mark"
    rctl -q run -d -f "$f" >/dev/null
  done
  for ((i = 0; i < FAULTS_PODS; i++)); do
    pod=${FAULTS_POD[i]}
    assert_wait 60 "pod $i running" faults_main_is "$pod" Running
    FAULTS_PID[i]=$(faults_field "$FAULTS_OUT" main pid)
    FAULTS_SHIM[i]=$(awk '{ print $4 }' "/proc/${FAULTS_PID[i]}/stat")
    sb=$(faults_field "$FAULTS_OUT" pod id) cid=$(faults_field "$FAULTS_OUT" main id)
    ids+=("$sb" "$cid")
    FAULTS_SOCK[i]=$(faults_shim_socket "$sb")
  done
  FAULTS_COUNTER_PID=${FAULTS_PID[0]}
  log "$FAULTS_PODS pods running"
  log=$(faults_field "$(faults_inspect "${FAULTS_POD[0]}")" main log)
  assert_wait 60 "counter logging" faults_counter_beyond "$log" 10
  assert_eq "$FAULTS_PODS" "$(faults_shim_count)" "shims (one per pod)"

  # systemd's restart: SIGTERM. Pods 1 and 2 exit while containerd is down.
  faults_outage TERM 1 2
  log "restarted after SIGTERM"
  faults_check_after_restart SIGTERM "1 2" "1 2"
  last=$(faults_counter_last "$log")
  assert_wait 60 "counter log continues after the SIGTERM restart (last $last)" \
    faults_counter_beyond "$log" $((last + 10))

  # The harsh case: SIGKILL. Pods 3 and 4 exit while containerd is down.
  faults_outage KILL 3 4
  log "restarted after SIGKILL"
  faults_check_after_restart SIGKILL "1 2 3 4" "3 4"
  last=$(faults_counter_last "$log")
  assert_wait 60 "counter log continues after the SIGKILL restart (last $last)" \
    faults_counter_beyond "$log" $((last + 10))
  assert_eq "$FAULTS_PODS" "$(faults_shim_count)" "shims after two restarts"

  log "checked after both restarts"
  # Every still-running pod is controllable: exec, then stop with the workload's exit code.
  for ((i = 0; i < FAULTS_PODS; i++)); do
    (( i == 0 || i > 4 )) || continue
    pod=${FAULTS_POD[i]}
    out=$(rctl exec "$pod" -- echo "ok-$i")
    assert_eq "ok-$i" "$out" "exec in pod $i after the restarts"
  done
  for ((i = 0; i < FAULTS_PODS; i++)); do
    (( i == 0 || i > 4 )) || continue
    rctl -q stop --timeout 30 "${FAULTS_POD[i]}" -c main
  done
  # the counter traps SIGTERM with exit 6, the others with exit 5
  out=$(faults_ps_states)
  for ((i = 0; i < FAULTS_PODS; i++)); do
    case $i in 0) want=6 ;; [1-4]) want=$(faults_exit_code "$i") ;; *) want=5 ;; esac
    assert_contains "$out" "${FAULTS_POD[i]} Ready main=Exited($want)" "pod $i after StopContainer"
  done
  gaps=$(faults_counter_gaps "$log")
  assert_empty "$gaps" "counter log $log (last $(faults_counter_last "$log"))"

  log "stopped"
  # Removing the pods leaves nothing.
  rc=0
  rctl -q rm -f "${FAULTS_POD[@]}" || rc=$?
  assert_eq 0 "$rc" "reaperctl rm of the 20 pods"
  assert_wait 60 "shims gone" faults_no_shims
  assert_wait 60 "workload processes gone" faults_no_marked_pids "$mark"
  assert_empty "$(faults_leftovers "${ids[@]}")" "left behind by the pods"
  for sock in "${FAULTS_SOCK[@]}"; do
    [[ ! -e $sock ]] || fail "shim socket left: $sock"
  done
  assert_empty "$(rctl ps | awk -v p="t-$E2E_RUNID-fault" 'index($2, p) == 1')" "pods still listed"
}

register_test containerd_restart t_containerd_restart

# ---------------------------------------------------------------------------
# Shim SIGKILLed under a pod with three containers (one with a background child, one with a
# terminal): containerd's `delete` action cleans up, and the pod's overlay group stays usable.

# faults_all_in_state <pod> <state>: the three containers all report <state>.
faults_all_in_state() {
  local c
  FAULTS_OUT=$(faults_inspect "$1") || return 1
  for c in bg tty plain; do
    [[ $(faults_field "$FAULTS_OUT" "$c" state) == "$2" ]] || return 1
  done
}
# faults_no_users <container-id>...: none of them is registered in the group any more.
faults_no_users() {
  local c
  for c in "$@"; do
    [[ ! -e $(faults_group_dir)/users/k8s.io.$c ]] || return 1
  done
}
faults_sandbox_is() { [[ $(inspect_field "$1" pod state) == "$2" ]]; }
faults_gone() { [[ ! -e $1 ]]; }
# Mount points under Reaper's state root (the groups' namespace anchors).
faults_state_mounts() { awk -v d="$E2E_DIR/reaper/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort; }
faults_marked_count_is() { [[ $(faults_marked_pids "$1" | wc -l) == "$2" ]]; }

t_shim_kill() {
  local pod f mark sb c ids=() shim sock users out rc=0 bundle mounts
  pod=$(pod_name shimkill) f=$E2E_DIR/data/$pod.yaml mark="shimkill-$E2E_RUNID"
  track "$pod"
  write_pod "$f" "$pod" Never "$(container_yaml bg "sleep 3001 & sleep 3002")
$(container_yaml tty "tty; exec sleep 3003")
    tty: true
$(container_yaml plain "exec sleep 3004")"
  faults_mark_pod "$f" "$mark"
  rctl -q run -d -f "$f" >/dev/null
  assert_wait 60 "three containers running" faults_all_in_state "$pod" Running
  sb=$(faults_field "$FAULTS_OUT" pod id)
  ids=("$sb")
  for c in bg tty plain; do ids+=("$(faults_field "$FAULTS_OUT" "$c" id)"); done
  shim=$(awk '{ print $4 }' "/proc/$(faults_field "$FAULTS_OUT" bg pid)/stat")
  assert_eq 1 "$(faults_shim_count)" "shims (one for the pod)"
  assert_eq "$(faults_shim_pids)" "$shim" "the pod's shim is the parent of container bg"
  sock=$(faults_shim_socket "$sb")
  [[ -S $sock ]] || fail "no shim socket $sock"
  assert_wait 30 "tty container printed its terminal" \
    grep -qE 'stdout F /dev/pts/[0-9]+' "$(faults_field "$FAULTS_OUT" tty log)"
  # bg's shell and its two sleeps, tty's sleep, plain's sleep (the sandbox has no pod env)
  assert_wait 30 "five workload processes" faults_marked_count_is "$mark" 5
  users=$(ls -1 "$(faults_group_dir)/users")
  for c in "${ids[@]:1}"; do  # the sandbox runs no host program and joins no group
    assert_contains "$users" "k8s.io.$c" "group users while the pod runs"
  done

  mounts=$(faults_state_mounts)

  kill -KILL "$shim"
  assert_wait 60 "shim $shim gone" faults_proc_dead "$shim"
  assert_wait 60 "every process of the pod gone" faults_no_marked_pids "$mark"
  assert_wait 60 "containers reported Exited" faults_all_in_state "$pod" Exited
  for c in bg tty plain; do  # 255: containerd's unknown exit code, see docs/design.md
    assert_eq 255 "$(faults_field "$FAULTS_OUT" "$c" exit)" "exit code of $c after the shim was killed"
    assert_eq Error "$(faults_field "$FAULTS_OUT" "$c" reason)" "reason of $c after the shim was killed"
  done
  assert_wait 60 "sandbox NotReady" faults_sandbox_is "$pod" NotReady
  assert_wait 60 "shim socket $sock removed" faults_gone "$sock"
  for c in "${ids[@]}"; do
    bundle=$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/$c
    assert_wait 60 "bundle $bundle removed" faults_gone "$bundle"
  done
  assert_wait 60 "group users unregistered" faults_no_users "${ids[@]:1}"
  flock -n "$(faults_group_dir)/lock" true || fail "group lock $(faults_group_dir)/lock still held"
  for c in "${ids[@]:1}"; do
    assert_empty "$(grep -F "$c" /proc/self/mountinfo)" "mounts of container $c"
  done
  out=$(REAPER_CONFIG=$E2E_DIR/reaper.toml "$REAPER_BIN_DIR/reaper-overlay" list)
  log "reaper-overlay list: $out"
  assert_match "$out" "k8s-default +yes +0\b" "group k8s-default active, no container registered"

  rctl -q rm -f "$pod"
  assert_empty "$(faults_leftovers "${ids[@]}")" "left behind by the pod"
  assert_eq "$mounts" "$(faults_state_mounts)" "mounts under the overlay state root"
  [[ ! -e $sock ]] || fail "shim socket left: $sock"

  # The next pod of the same group (namespace "default") runs normally.
  pod=$(pod_name afterkill) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  write_pod "$f" "$pod" Never "$(container_yaml main "echo ok")"
  out=$(rctl -q run --rm --timeout 60 -f "$f") || rc=$?
  assert_eq 0 "$rc" "exit status of the next pod in the group"
  assert_eq ok "$out" "output of the next pod in the group"
  assert_wait 30 "no shim left" faults_no_shims
  users=$(ls -1A "$(faults_group_dir)/users")
  assert_empty "$users" "group users after every pod is gone"
}

register_test shim_kill t_shim_kill
