# shellcheck shell=bash
# Controllers: a Job (completions 3, parallelism 2), a DaemonSet, a Deployment scaled
# 1 -> 3 -> 0; afterwards nothing of them is left on the node.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# k8s_template_spec RESTART CONTAINERS [EXTRA]: a pod template's spec (indent 6) on Reaper.
k8s_template_spec() {
  k8s_pod_yaml x "$1" "$2" "${3:-}" | sed -n '/^spec:/,$p' | sed '1d; s/^/    /'
}

# Max number of overlapping [start, end] intervals of a log with "start N" / "end N" lines.
k8s_max_overlap() { awk '$1 == "start" { c++; if (c > m) m = c } $1 == "end" { c-- } END { print m + 0 }' "$1"; }

t_job() {
  local log=$E2E_DIR/data/job-$E2E_RUNID.log
  : >"$log"
  track job/work
  k8s_apply "apiVersion: batch/v1
kind: Job
metadata: {name: work, namespace: $K8S_NS}
spec:
  completions: 3
  parallelism: 2
  backoffLimit: 0
  template:
    spec:
$(k8s_template_spec Never "$(k8s_container main \
    "echo start \$HOSTNAME-\$\$ >>$log; sleep 2; echo end \$HOSTNAME-\$\$ >>$log; echo done" \
    "    volumeMounts: [{name: data, mountPath: \"$E2E_DIR/data\"}]")" \
    "  volumes: [{name: data, hostPath: {path: \"$E2E_DIR/data\"}}]" | sed 's/^/  /')"
  kcn wait --for=condition=complete job/work --timeout=180s >/dev/null ||
    fail "job not complete: $(kcn get job work -o jsonpath='{.status}')"
  assert_eq 3 "$(k8s_jp job/work '{.status.succeeded}')" "succeeded pods"
  assert_eq "" "$(k8s_jp job/work '{.status.failed}')" "failed pods"
  assert_eq 3 "$(grep -c '^end ' "$log")" "runs that finished"
  local m
  m=$(k8s_max_overlap "$log")
  (( m <= 2 )) || fail "$m pods ran at once (parallelism 2)"
  local pods
  pods=$(kcn get pods -l job-name=work -o name | wc -l)
  assert_eq 3 "$pods" "pods of the job"
  for p in $(kcn get pods -l job-name=work -o name); do
    assert_eq done "$(kcn logs "$p")" "log of $p"
  done
  kcn delete job work --cascade=foreground --wait=true --timeout=120s >/dev/null
  assert_wait 60 "the job's pods are gone" k8s_out_is "" kcn get pods -l job-name=work -o name
  k8s_assert_node_clean 60 "nothing of the job left on the node"
}

t_daemonset() {
  track daemonset/agent
  k8s_apply "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: $K8S_NS}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
$(k8s_template_spec Always "$(k8s_container main 'echo agent-on-$NODE; exec sleep 100000' \
    '    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}')" | sed 's/^/  /')"
  kcn rollout status daemonset/agent --timeout=120s >/dev/null || fail "DaemonSet not rolled out"
  assert_eq 1 "$(k8s_jp daemonset/agent '{.status.numberReady}')" "ready DaemonSet pods"
  assert_eq 1 "$(k8s_jp daemonset/agent '{.status.desiredNumberScheduled}')" "scheduled (the RuntimeClass selects the labelled node)"
  local p
  p=$(kcn get pods -l app=agent -o name)
  assert_eq "agent-on-$K8S_NODE" "$(kcn logs "$p")" "DaemonSet pod log"
  kcn delete daemonset agent --wait=true --timeout=120s >/dev/null
  assert_wait 60 "the DaemonSet's pod is gone" k8s_out_is "" kcn get pods -l app=agent -o name
  k8s_assert_node_clean 60 "nothing of the DaemonSet left on the node"
}

k8s_deploy_ready() { [[ $(k8s_jp deployment/web '{.status.readyReplicas}') == "$1" ]]; }
k8s_deploy_pods() { [[ $(kcn get pods -l app=web -o name 2>/dev/null | wc -l) == "$1" ]]; }

t_deployment_scale() {
  local p
  track deployment/web
  k8s_apply "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: $K8S_NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
$(k8s_template_spec Always "$(k8s_container main 'echo up; exec sleep 100000' \
    '    readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}')" | sed 's/^/  /')"
  kcn rollout status deployment/web --timeout=120s >/dev/null || fail "Deployment not rolled out"
  assert_eq 1 "$(k8s_jp deployment/web '{.status.readyReplicas}')" "ready replicas"
  kcn scale deployment/web --replicas=3 >/dev/null
  assert_wait 120 "3 ready replicas" k8s_deploy_ready 3
  # every replica's shim socket, to check it is gone afterwards
  local socks=()
  for p in $(kcn get pods -l app=web -o jsonpath='{range .items[*]}{.status.containerStatuses[0].containerID}{"\n"}{end}'); do
    socks+=("$(k8s_shim_socket_of "${p#containerd://}")")
  done
  assert_eq 3 "${#socks[@]}" "replicas"
  for p in "${socks[@]}"; do [[ -S $p ]] || fail "shim socket $p of a running replica missing"; done
  kcn scale deployment/web --replicas=0 >/dev/null
  assert_wait 120 "no replica left" k8s_deploy_pods 0
  k8s_assert_node_clean 60 "nothing of the replicas left on the node"
  for p in "${socks[@]}"; do [[ ! -e $p ]] || fail "shim socket $p left behind"; done
  kcn delete deployment web --wait=true --timeout=60s >/dev/null
}

register_test job t_job
register_test daemonset t_daemonset
register_test deployment_scale t_deployment_scale
