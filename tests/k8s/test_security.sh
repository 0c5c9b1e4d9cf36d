# shellcheck shell=bash
# securityContext users and groups (kubelet changes volume ownership for fsGroup), runAsNonRoot
# refused by kubelet, env from fieldRef / secretKeyRef / configMapKeyRef, termination grace
# periods with and without a SIGTERM trap, `kubectl delete --force`.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

t_security_context_ids() {
  local pod=ids out
  track "$pod"
  kcn create configmap ids-cm --from-literal=k=v >/dev/null
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main \
    'id -u; id -g; id -G | tr " " "\n" | sort -n | tr "\n" " "; echo; stat -c %g /vol; touch /vol/new && stat -c %u:%g /vol/new; exec sleep 100000' \
    '    volumeMounts: [{name: vol, mountPath: /vol}, {name: cm, mountPath: /cm}]')" \
    '  securityContext: {runAsUser: 1234, runAsGroup: 2345, supplementalGroups: [3456], fsGroup: 4567}
  volumes: [{name: vol, emptyDir: {}}, {name: cm, configMap: {name: ids-cm}}]')"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  k8s_log_lines_at_least() { (( $(kcn logs "$pod" 2>/dev/null | wc -l) >= 5 )); }
  assert_wait 30 "the container printed its ids" k8s_log_lines_at_least
  out=$(kcn logs "$pod")
  assert_eq 1234 "$(sed -n 1p <<<"$out")" "uid (runAsUser)"
  assert_eq 2345 "$(sed -n 2p <<<"$out")" "gid (runAsGroup)"
  assert_eq "2345 3456 4567" "$(sed -n 3p <<<"$out" | sed 's/ *$//')" "groups: runAsGroup, supplementalGroups, fsGroup"
  assert_eq 4567 "$(sed -n 4p <<<"$out")" "emptyDir group (fsGroup, set by kubelet)"
  assert_eq 1234:4567 "$(sed -n 5p <<<"$out")" "a new file in the setgid volume"
  assert_eq 4567 "$(kcn exec "$pod" -- stat -L -c %g /cm/k)" "ConfigMap file group (fsGroup)"
  assert_eq "1234 2345" "$(kcn exec "$pod" -- sh -c 'echo $(id -u) $(id -g)')" "kubectl exec runs as the pod's user"
  k8s_delete_pod "$pod"
  kcn delete configmap ids-cm >/dev/null
}

# runAsNonRoot with uid 0: kubelet refuses to start the container, with its reason.
t_run_as_nonroot_refused() {
  local pod=nonroot msg
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main 'echo must-not-run')" \
    '  securityContext: {runAsNonRoot: true, runAsUser: 0}')"
  assert_wait 60 "CreateContainerConfigError" k8s_waiting_reason_is "$pod" main CreateContainerConfigError
  msg=$(k8s_cstatus "$pod" main state.waiting.message)
  assert_contains "$msg" "non-root" "waiting message: $msg"
  assert_wait 30 "a Failed event" k8s_has_event "$pod" Failed "non-root"
  [[ -z $(kcn logs "$pod" 2>/dev/null) ]] || fail "the container ran"
  k8s_delete_pod "$pod"
}

t_env_sources() {
  local pod=envs out
  track "$pod"
  kcn create configmap env-cm --from-literal=color=blue >/dev/null
  kcn create secret generic env-secret --from-literal=token=t0ken >/dev/null
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main \
    'echo "$MY_NAME|$MY_NS|$MY_NODE|$MY_IP|$MY_SA|$MY_COLOR|$MY_TOKEN|$MY_LIMIT"' \
    '    - name: MY_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: MY_NS
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: MY_NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: MY_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: MY_SA
      valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}
    - name: MY_COLOR
      valueFrom: {configMapKeyRef: {name: env-cm, key: color}}
    - name: MY_TOKEN
      valueFrom: {secretKeyRef: {name: env-secret, key: token}}
    - name: MY_LIMIT
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
    resources: {limits: {memory: 64Mi}}')")"
  k8s_wait_phase "$pod" Succeeded 90
  out=$(kcn logs "$pod")
  assert_eq "$pod|$K8S_NS|$K8S_NODE|$K8S_NODE_IP|default|blue|t0ken|64" "$out" "env from the downward API, ConfigMap, Secret"
  k8s_delete_pod "$pod"
  kcn delete configmap env-cm >/dev/null
  kcn delete secret env-secret >/dev/null
}

# k8s_watch_exit POD OUT: records the container's terminated exit code as kubelet reports it
# before the object goes away (background kubectl watch; its pid in $K8S_WATCH_PID).
k8s_watch_exit() {
  kcn get pod "$1" -w -o 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}{"\n"}' >"$2" 2>&1 &
  K8S_WATCH_PID=$!
}

# terminationGracePeriodSeconds with a SIGTERM trap: the container ends gracefully, early.
t_grace_trap() {
  local pod=gracetrap note=$E2E_DIR/data/gracetrap.term t0 dt
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main \
    "trap 'echo got-term >$note; exit 42' TERM; echo ready; while :; do sleep 0.2; done" \
    "    volumeMounts: [{name: data, mountPath: \"$E2E_DIR/data\"}]")" \
    "  volumes: [{name: data, hostPath: {path: \"$E2E_DIR/data\"}}]" | sed 's/terminationGracePeriodSeconds: 2/terminationGracePeriodSeconds: 60/')"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  k8s_watch_exit "$pod" "$E2E_DIR/data/gracetrap.watch"
  t0=$SECONDS
  k8s_delete_pod "$pod"
  dt=$((SECONDS - t0))
  kill "$K8S_WATCH_PID" 2>/dev/null || true
  assert_eq got-term "$(cat "$note" 2>/dev/null)" "the trap ran"
  grep -qx 42 "$E2E_DIR/data/gracetrap.watch" || fail "exit code 42 not reported: $(tr '\n' ' ' <"$E2E_DIR/data/gracetrap.watch")"
  (( dt < 60 )) || fail "the pod was only gone at the 60 s deadline (${dt}s): the trap did not end it"
}

# Without a trap that ends it: killed (SIGKILL) at the deadline, not before.
t_grace_deadline() {
  local pod=gracekill t0 dt
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main \
    "trap '' TERM; echo ready; while :; do sleep 0.2; done")" | sed 's/terminationGracePeriodSeconds: 2/terminationGracePeriodSeconds: 5/')"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  k8s_watch_exit "$pod" "$E2E_DIR/data/gracekill.watch"
  t0=$(date +%s%N)
  k8s_delete_pod "$pod"
  dt=$(( ($(date +%s%N) - t0) / 1000000 ))
  kill "$K8S_WATCH_PID" 2>/dev/null || true
  grep -qx 137 "$E2E_DIR/data/gracekill.watch" || fail "exit code 137 (SIGKILL) not reported: $(tr '\n' ' ' <"$E2E_DIR/data/gracekill.watch")"
  (( dt >= 5000 )) || fail "killed after ${dt} ms, before the 5 s grace period"
  k8s_assert_node_clean 30 "no process of the pod left"
}

# kubectl delete --force --grace-period=0: the object goes at once, kubelet still kills the
# container and leaves nothing.
t_delete_force() {
  local pod=forced
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main \
    "trap '' TERM; while :; do sleep 0.2; done")" | sed 's/terminationGracePeriodSeconds: 2/terminationGracePeriodSeconds: 300/')"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  kcn delete pod "$pod" --force --grace-period=0 >/dev/null 2>&1
  ! kcn get pod "$pod" >/dev/null 2>&1 || fail "the pod object survived --force"
  k8s_assert_node_clean 60 "kubelet killed the force-deleted pod's processes"
}

register_test security_context_ids t_security_context_ids
register_test run_as_nonroot_refused t_run_as_nonroot_refused
register_test env_sources t_env_sources
register_test grace_trap t_grace_trap
register_test grace_deadline t_grace_deadline
register_test delete_force t_delete_force
