# shellcheck shell=bash
# Pods, logs and status through kubectl: the README's example, `kubectl logs` (-f, --previous),
# `get -o wide`, events with useful messages, the kubelet summary API.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# The README's example Pod (examples/hello.yaml), applied with kubectl. Kubernetes requires an
# image on every container (Reaper does not use its files); the manifest names none, so the
# test gives it the node's local image the way an operator would (`kubectl set image --local`).
t_readme_pod() {
  local expect=$E2E_DIR/data/hello.expected got=$E2E_DIR/data/hello.got
  kc set image --local -f "$REPO/examples/hello.yaml" "hello=$E2E_IMAGE" -o yaml |
    kcn apply -f - >/dev/null
  track hello
  k8s_wait_phase hello Succeeded 90
  assert_eq 0 "$(k8s_cstatus hello hello state.terminated.exitCode)" "exit code"
  assert_eq Completed "$(k8s_cstatus hello hello state.terminated.reason)" "termination reason"
  { echo "Hello from host"; uname -a; } >"$expect"
  kcn logs hello >"$got"
  cmp "$expect" "$got" || fail "kubectl logs is not byte-exact: expected '$(cat "$expect")', got '$(cat "$got")'"
  assert_eq "$K8S_NODE" "$(k8s_jp pod/hello '{.spec.nodeName}')" "scheduled on the test node"
  assert_eq reaper-v2 "$(k8s_jp pod/hello '{.spec.runtimeClassName}')" "runtime class"
  k8s_delete_pod hello
}

# `kubectl logs -f` streams while the container runs and ends when it exits.
t_logs_follow() {
  local out=$E2E_DIR/data/follow.out pid flag=/tmp/reaper-k8s-$E2E_RUNID-follow-go
  track follow
  k8s_apply "$(k8s_pod_yaml follow Never "$(k8s_container main \
    "echo first; until [ -e $flag ]; do sleep 0.1; done; echo second; echo third")")"
  k8s_wait_phase follow Running 90
  kcn logs -f follow >"$out" 2>&1 &
  pid=$!
  assert_wait 30 "first line streamed" grep -qx first "$out"
  kill -0 "$pid" || fail "kubectl logs -f ended while the container still runs"
  kcn exec follow -- touch "$flag"
  assert_wait 60 "kubectl logs -f ends with the container" pid_gone "$pid"
  wait "$pid" || fail "kubectl logs -f exit status $?"
  assert_eq $'first\nsecond\nthird' "$(cat "$out")" "followed log"
  k8s_wait_phase follow Succeeded 30
  k8s_delete_pod follow
}

# `kubectl logs --previous` shows the log of the container before its restart.
t_logs_previous() {
  track prev
  k8s_apply "$(k8s_pod_yaml prev Always "$(k8s_container main \
    'n=$(cat /state/n 2>/dev/null || echo 0); n=$((n+1)); echo $n >/state/n; echo run-$n; [ $n -ge 2 ] || exit 3; exec sleep 100000' \
    '    volumeMounts: [{name: state, mountPath: /state}]')" \
    '  volumes: [{name: state, emptyDir: {}}]')"
  assert_wait 120 "restarted once and running" k8s_restarted_running prev main 1
  assert_eq run-1 "$(kcn logs prev --previous)" "kubectl logs --previous"
  assert_eq run-2 "$(kcn logs prev)" "kubectl logs after the restart"
  assert_eq 3 "$(k8s_cstatus prev main lastState.terminated.exitCode)" "previous exit code"
  k8s_delete_pod prev
}
k8s_restarted_running() { # pod container count
  [[ $(k8s_cstatus "$1" "$2" restartCount) == "$3" && -n $(k8s_cstatus "$1" "$2" state.running.startedAt) ]]
}

# `kubectl get pod -o wide`: the node, the host's IP (host network), Running, the ready count.
t_get_wide() {
  local line
  track wide
  k8s_apply "$(k8s_pod_yaml wide Never "$(k8s_container main 'exec sleep 100000')")"
  kcn wait --for=condition=Ready pod/wide --timeout=90s >/dev/null
  line=$(kcn get pod wide -o wide --no-headers)
  # NAME READY STATUS RESTARTS AGE IP NODE NOMINATED READINESS
  read -r -a f <<<"$line"
  assert_eq wide "${f[0]}" "name ($line)"
  assert_eq 1/1 "${f[1]}" "ready ($line)"
  assert_eq Running "${f[2]}" "status ($line)"
  assert_eq 0 "${f[3]}" "restarts ($line)"
  assert_eq "$K8S_NODE_IP" "${f[5]}" "pod IP is the node's ($line)"
  assert_eq "$K8S_NODE" "${f[6]}" "node ($line)"
  assert_eq "$K8S_NODE" "$(kc get node -o wide --no-headers | awk '{ print $1 }')" "the one node"
  k8s_delete_pod wide
}

# A missing executable: the pod's events and status say which one and why.
t_event_missing_executable() {
  track noexec
  k8s_apply "$(k8s_pod_yaml noexec Never "  - name: main
    image: $E2E_IMAGE
    command: [\"/no/such/program-$E2E_RUNID\"]")"
  assert_wait 90 "a Failed event naming the program" k8s_has_event noexec Failed "/no/such/program-$E2E_RUNID"
  local msg
  msg=$(k8s_event_for noexec Failed)
  assert_match "$msg" "no such file|not found" "the reason is in the event: $msg"
  kcn get events --field-selector involvedObject.name=noexec | grep -q Failed || fail "kubectl get events shows no Failed row"
  k8s_delete_pod noexec
}

# The node's policy refuses a pod: the event says which rule (docs/configuration.md).
t_event_policy_refused() {
  local ns=forbidden-$E2E_RUNID
  kc create namespace "$ns" >/dev/null
  wait_until 60 kc -n "$ns" get serviceaccount default >/dev/null 2>&1 || fail "no default ServiceAccount"
  K8S_NS=$ns k8s_apply "$(K8S_NS=$ns k8s_pod_yaml refused Never "$(k8s_container main 'echo must-not-run')")"
  K8S_NS=$ns assert_wait 90 "FailedCreatePodSandBox naming the policy" \
    k8s_has_event refused FailedCreatePodSandBox "may not run Reaper pods"
  local msg
  msg=$(K8S_NS=$ns k8s_event_for refused FailedCreatePodSandBox | awk "NR == 1")
  assert_contains "$msg" "\"$ns\"" "the event names the namespace"
  # non-hostNetwork pods are refused by the node's non_host_network = "reject"
  k8s_apply "$(k8s_pod_yaml podnet Never "$(k8s_container main 'echo must-not-run')" | sed '/hostNetwork: true/d')"
  track podnet
  assert_wait 90 "FailedCreatePodSandBox asking for hostNetwork" \
    k8s_has_event podnet FailedCreatePodSandBox "hostNetwork"
  [[ -z $(kcn logs podnet 2>/dev/null) ]] || fail "the refused pod ran"
  kc delete namespace "$ns" --wait=true --timeout=120s >/dev/null
  k8s_delete_pod podnet
}

# The kubelet's summary API lists the Reaper pod and its container (values come with resource
# accounting; docs/kubernetes.md).
t_summary_api() {
  local json
  track stats
  k8s_apply "$(k8s_pod_yaml stats Never "$(k8s_container main 'exec sleep 100000')")"
  kcn wait --for=condition=Ready pod/stats --timeout=90s >/dev/null
  assert_wait 90 "the summary API lists pod stats" k8s_summary_has_pod stats
  json=$(kc get --raw "/api/v1/nodes/$K8S_NODE/proxy/stats/summary")
  python3 - "$json" "$K8S_NS" stats "$K8S_NODE" <<'EOF' || fail "summary API content"
import json, sys
s = json.loads(sys.argv[1])
assert s["node"]["nodeName"] == sys.argv[4], s["node"]["nodeName"]
pods = [p for p in s.get("pods", []) if p["podRef"]["name"] == sys.argv[3] and p["podRef"]["namespace"] == sys.argv[2]]
assert len(pods) == 1, "pod %s listed %d times" % (sys.argv[3], len(pods))
names = [c["name"] for c in pods[0].get("containers", [])]
assert names == ["main"], "containers listed: %s" % names
EOF
  k8s_delete_pod stats
}
k8s_summary_has_pod() {
  kc get --raw "/api/v1/nodes/$K8S_NODE/proxy/stats/summary" 2>/dev/null |
    python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if any(p["podRef"]["name"]==sys.argv[1] and p.get("containers") for p in s.get("pods",[])) else 1)' "$1"
}

# deploy/kubernetes's RuntimeClass selects the nodes scripts/install-node.sh labelled (k8s_start
# labels the node itself when they disagree, so that the other tests still run).
t_runtimeclass_selects_installed_node() {
  [[ ! -s $E2E_DIR/runtimeclass-mismatch ]] ||
    fail "deploy/kubernetes/runtimeclass.yaml selects $(tr '\n' ' ' <"$E2E_DIR/runtimeclass-mismatch")but install-node.sh --label-node set: $(kc get node "$K8S_NODE" --show-labels --no-headers | awk '{ print $NF }')"
}

register_test runtimeclass_selects_installed_node t_runtimeclass_selects_installed_node
register_test readme_pod t_readme_pod
register_test logs_follow t_logs_follow
register_test logs_previous t_logs_previous
register_test get_wide t_get_wide
register_test event_missing_executable t_event_missing_executable
register_test event_policy_refused t_event_policy_refused
register_test summary_api t_summary_api
