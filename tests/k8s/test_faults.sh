# shellcheck shell=bash
# Faults under a real kubelet: kubelet restarted with 5 running pods, containerd restarted with
# 5 running pods (no container restarted, logs continue, exec works), a pod's shim SIGKILLed
# (its containers restarted per policy, nothing left of the old ones).

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

K8S_FAULT_PODS=(f1 f2 f3 f4 f5)

# Five pods printing a counter (one line each 0.1 s).
k8s_fault_pods_start() {
  local p y=""
  for p in "${K8S_FAULT_PODS[@]}"; do
    track "$p"
    y+="$(k8s_pod_yaml "$p" Always "$(k8s_container main 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.1; done')")"$'\n---\n'
  done
  k8s_apply "$y"
  for p in "${K8S_FAULT_PODS[@]}"; do kcn wait --for=condition=Ready "pod/$p" --timeout=120s >/dev/null; done
}

# The container ids of the five pods, one line each.
k8s_fault_ids() {
  local p
  for p in "${K8S_FAULT_PODS[@]}"; do echo "$p $(k8s_cstatus "$p" main containerID)"; done
}

# k8s_counter_ok POD: the log is 0, 1, 2, ... without a gap or a repeat; prints the last value.
k8s_counter_check() {
  kcn logs "$1" | awk 'NR == 1 && $0 != "0" { print "first line " $0; bad = 1; exit }
    NR > 1 && $0 != last + 1 { print "line " NR ": " $0 " after " last; bad = 1; exit }
    { last = $0 } END { if (!bad) print "last " last }'
}
k8s_log_served() { kcn logs --tail=1 "$1" >/dev/null 2>&1; }
k8s_counter_beyond() { local l; l=$(k8s_counter_check "$1"); [[ $l == "last "* ]] && (( ${l#last } > $2 )); }

# k8s_fault_after BEFORE_IDS LAST_VALUES...: after the fault, every pod kept its container (no
# restart), its counter log continues without a gap, and exec works.
k8s_fault_after() {
  local before=$1 p l last
  assert_eq "$before" "$(k8s_fault_ids)" "container ids after the fault (a restart changes them)"
  for p in "${K8S_FAULT_PODS[@]}"; do
    assert_eq 0 "$(k8s_cstatus "$p" main restartCount)" "restartCount of $p"
    # a restarted kubelet answers 404 for a pod's log until its pod manager has synced it
    assert_wait 60 "kubelet serves the log of $p" k8s_log_served "$p"
    l=$(k8s_counter_check "$p")
    [[ $l == "last "* ]] || fail "log of $p: $l"
    last=${l#last }
    assert_wait 30 "the log of $p continues" k8s_counter_beyond "$p" "$last"
    assert_eq "exec-$p" "$(kcn exec "$p" -- echo "exec-$p")" "kubectl exec into $p"
  done
  l=$(k8s_counter_check f1)
  [[ $l == "last "* ]] || fail "log of f1 after the checks: $l"
}

t_kubelet_restart() {
  local before
  k8s_fault_pods_start
  before=$(k8s_fault_ids)
  k8s_restart kubelet TERM || fail "kubelet did not come back"
  k8s_fault_after "$before"
  k8s_delete_pod "${K8S_FAULT_PODS[@]}"
  k8s_assert_node_clean 60 "nothing left on the node"
}

t_containerd_restart() {
  local before
  k8s_fault_pods_start
  before=$(k8s_fault_ids)
  k8s_restart containerd TERM || fail "containerd did not come back"
  assert_wait 120 "node Ready after the containerd restart" k8s_node_ready
  k8s_fault_after "$before"
  ! grep -q "failed to load runtime info" "$E2E_DIR/logs/containerd.log" ||
    log "containerd logged 'failed to load runtime info' (shim -info, containerd 2.2+)"
  k8s_delete_pod "${K8S_FAULT_PODS[@]}"
  k8s_assert_node_clean 60 "nothing left on the node"
}

# The pod's shim: the parent of its workload processes (the shim is their subreaper).
k8s_pod_shim_pid() { # marker
  local p pp
  for p in $(faults_marked_pids "$1"); do
    pp=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null) || continue
    [[ $(cat "/proc/$pp/comm" 2>/dev/null) == containerd-shim* ]] && { echo "$pp"; return 0; }
  done
  return 1
}
k8s_both_restarted() { # pod
  local a b
  a=$(k8s_cstatus "$1" a restartCount) b=$(k8s_cstatus "$1" b restartCount)
  (( ${a:-0} >= 1 && ${b:-0} >= 1 )) && k8s_ready_is "$1" True
}

t_shim_killed() {
  local pod=shimkill mark=shimkill-$E2E_RUNID shim old_pids old_ids sock c
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Always "$(k8s_container a 'exec sleep 100000' \
    "    - {name: FAULT_MARK, value: $mark}")
$(k8s_container b 'sleep 100000 & wait' "    - {name: FAULT_MARK, value: $mark}")")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=120s >/dev/null
  shim=$(k8s_pod_shim_pid "$mark") || fail "no shim found for the pod's processes"
  old_pids=$(faults_marked_pids "$mark" | tr '\n' ' ')
  old_ids="$(k8s_cstatus "$pod" a containerID) $(k8s_cstatus "$pod" b containerID)"
  sock=$(k8s_shim_socket_of "$(k8s_cstatus "$pod" a containerID)")
  [[ -S $sock ]] || fail "no shim socket for the pod ($sock)"
  kill -KILL "$shim"
  assert_wait 180 "both containers restarted and the pod Ready again" k8s_both_restarted "$pod"
  for c in $old_pids; do
    assert_wait 30 "old process $c gone" faults_proc_dead "$c"
  done
  for c in $old_ids; do
    [[ " $(k8s_cstatus "$pod" a containerID) $(k8s_cstatus "$pod" b containerID) " != *" $c "* ]] ||
      fail "container $c was not replaced"
    assert_wait 60 "containerd's bundle of the old container $c removed" \
      test ! -e "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/${c#containerd://}"
  done
  assert_wait 30 "the killed shim's socket removed ($sock)" test ! -e "$sock"
  k8s_marked_count_is() { [[ $(faults_marked_pids "$mark" | wc -l) == 3 ]]; }
  assert_wait 30 "the new containers' 3 processes, and no more" k8s_marked_count_is
  k8s_delete_pod "$pod"
  k8s_assert_node_clean 60 "nothing left on the node"
}

register_test kubelet_restart t_kubelet_restart
register_test containerd_restart t_containerd_restart
register_test shim_killed t_shim_killed
