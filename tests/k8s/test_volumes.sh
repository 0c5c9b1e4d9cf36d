# shellcheck shell=bash
# Init containers and app containers of one pod; the volumes kubelet manages (ConfigMap,
# Secret with an update, downwardAPI, emptyDir on disk and in memory, hostPath) and the
# projected service-account token, used from inside the pod to call the API server.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# initContainers run one after the other, to completion, before the app containers; two app
# containers share the pod's overlay (a file one writes outside any volume, the other reads).
t_init_and_shared_overlay() {
  local pod=init shared=/tmp/reaper-k8s-$E2E_RUNID-shared
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container writer \
    "echo from-writer-$E2E_RUNID >$shared.tmp && mv $shared.tmp $shared && exec sleep 100000")
$(k8s_container reader "until [ -e $shared ]; do sleep 0.1; done; cat $shared; cat /work/order; exec sleep 100000" \
    '    volumeMounts: [{name: work, mountPath: /work}]')" \
    "  volumes: [{name: work, emptyDir: {}}]
  initContainers:
$(k8s_container init1 'echo init1 >>/work/order; sleep 1' '    volumeMounts: [{name: work, mountPath: /work}]')
$(k8s_container init2 '[ "$(cat /work/order)" = init1 ] || exit 9; echo init2 >>/work/order' \
    '    volumeMounts: [{name: work, mountPath: /work}]')")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=120s >/dev/null
  local i
  for i in 0 1; do
    assert_eq 0 "$(k8s_jp "pod/$pod" "{.status.initContainerStatuses[$i].state.terminated.exitCode}")" "init container $i exit code"
  done
  local f1 s2
  f1=$(k8s_jp "pod/$pod" '{.status.initContainerStatuses[0].state.terminated.finishedAt}')
  s2=$(k8s_jp "pod/$pod" '{.status.initContainerStatuses[1].state.terminated.startedAt}')
  [[ ! $s2 < $f1 ]] || fail "init2 started ($s2) before init1 finished ($f1)"
  k8s_reader_saw() { [[ $(kcn logs "$pod" -c reader 2>/dev/null | awk 'NR == 1') == "from-writer-$E2E_RUNID" ]]; }
  assert_wait 30 "the reader saw the writer's file" k8s_reader_saw
  assert_eq $'from-writer-'"$E2E_RUNID"$'\ninit1\ninit2' "$(kcn logs "$pod" -c reader)" "reader's log"
  [[ ! -e $shared ]] || fail "the pod's write reached the host's $shared"
  k8s_delete_pod "$pod"
}

k8s_exec_out_is() { [[ $(kcn exec "$1" -c "${3:-main}" -- sh -c "$2" 2>/dev/null) == "$4" ]]; }

t_kubelet_volumes() {
  local pod=vols host=$E2E_DIR/data/hostpath-$E2E_RUNID uid out
  mkdir -p "$host"
  echo from-host >"$host/in"
  track "$pod"
  kcn create configmap vol-cm --from-literal=greeting=hello-cm >/dev/null
  kcn create secret generic vol-secret --from-literal=password=s3cret-1 >/dev/null
  k8s_apply "$(K8S_POD_LABELS='{app: reaper-volumes}' k8s_pod_yaml "$pod" Never "$(k8s_container main 'exec sleep 100000' \
    "    volumeMounts:
    - {name: cm, mountPath: /etc/reaper-test/cm}
    - {name: secret, mountPath: /etc/reaper-test/secret}
    - {name: info, mountPath: /etc/reaper-test/info}
    - {name: scratch, mountPath: /scratch}
    - {name: mem, mountPath: /mem}
    - {name: host, mountPath: /hostdir}")" \
    "  volumes:
  - {name: cm, configMap: {name: vol-cm}}
  - {name: secret, secret: {secretName: vol-secret}}
  - name: info
    downwardAPI:
      items:
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
  - {name: scratch, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
  - {name: host, hostPath: {path: \"$host\", type: Directory}}")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=120s >/dev/null
  uid=$(k8s_jp "pod/$pod" '{.metadata.uid}')
  assert_eq hello-cm "$(kcn exec "$pod" -- cat /etc/reaper-test/cm/greeting)" "ConfigMap volume"
  assert_eq s3cret-1 "$(kcn exec "$pod" -- cat /etc/reaper-test/secret/password)" "Secret volume"
  assert_eq "$pod" "$(kcn exec "$pod" -- cat /etc/reaper-test/info/name)" "downwardAPI name"
  assert_eq 'app="reaper-volumes"' "$(kcn exec "$pod" -- cat /etc/reaper-test/info/labels)" "downwardAPI labels"
  ! kcn exec "$pod" -- touch /etc/reaper-test/secret/x 2>/dev/null || fail "the Secret volume is writable"
  # emptyDir on disk is kubelet's directory of the pod; the memory one is a tmpfs
  kcn exec "$pod" -- sh -c 'echo scratch-data >/scratch/f'
  assert_eq scratch-data "$(cat "$E2E_DIR/kubelet/root/pods/$uid/volumes/kubernetes.io~empty-dir/scratch/f")" "emptyDir is kubelet's directory"
  out=$(kcn exec "$pod" -- awk '$5 == "/mem" { for (i = 7; i <= NF; i++) if ($i == "-") print $(i+1) }' /proc/self/mountinfo)
  assert_eq tmpfs "$out" "emptyDir medium Memory"
  kcn exec "$pod" -- sh -c 'echo mem-data >/mem/f'
  assert_eq mem-data "$(kcn exec "$pod" -- cat /mem/f)" "write to the memory emptyDir"
  # hostPath both ways
  assert_eq from-host "$(kcn exec "$pod" -- cat /hostdir/in)" "hostPath read"
  kcn exec "$pod" -- sh -c 'echo from-pod >/hostdir/out'
  assert_eq from-pod "$(cat "$host/out")" "hostPath write reaches the host"
  # a Secret update reaches the running pod (kubelet's sync, syncFrequency 10 s here)
  kcn create secret generic vol-secret --from-literal=password=s3cret-2 --dry-run=client -o yaml | kcn apply -f - >/dev/null
  assert_wait 150 "the updated Secret in the pod" k8s_exec_out_is "$pod" 'cat /etc/reaper-test/secret/password' main s3cret-2
  k8s_delete_pod "$pod"
  kcn delete configmap vol-cm >/dev/null
  kcn delete secret vol-secret >/dev/null
  ! grep -qF "$uid" /proc/self/mountinfo || fail "the pod's volume mounts remain: $(grep -F "$uid" /proc/self/mountinfo | awk '{ print $5 }')"
}

# The projected service-account token at /var/run/secrets/kubernetes.io/serviceaccount, used
# from inside the pod with curl and with kubectl's in-cluster config. The pod is told the API
# server's address (there is no kube-proxy for the kubernetes Service here).
t_serviceaccount_token() {
  local pod=sa sa=/var/run/secrets/kubernetes.io/serviceaccount out
  track "$pod"
  kcn create role pod-reader --verb=get,list --resource=pods >/dev/null
  kcn create rolebinding pod-reader --role=pod-reader --serviceaccount="$K8S_NS:default" >/dev/null
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main 'exec sleep 100000' \
    "    - {name: KUBERNETES_SERVICE_HOST, value: 127.0.0.1}
    - {name: KUBERNETES_SERVICE_PORT, value: \"$K8S_API_PORT\"}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}")")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  assert_eq "$K8S_NS" "$(kcn exec "$pod" -- cat "$sa/namespace")" "namespace file"
  assert_eq "$(cat "$E2E_DIR/pki/ca.crt")" "$(kcn exec "$pod" -- cat "$sa/ca.crt")" "ca.crt (kube-root-ca.crt)"
  # shellcheck disable=SC2016 # expanded by the pod's shell
  out=$(kcn exec "$pod" -- sh -c 'curl -sS --cacert '"$sa"'/ca.crt -H "Authorization: Bearer $(cat '"$sa"'/token)" \
    https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/$(cat '"$sa"'/namespace)/pods/$POD_NAME')
  assert_eq "$pod" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["name"])' <<<"$out")" "the pod read itself through the API with its token"
  # shellcheck disable=SC2016
  out=$(kcn exec "$pod" -- sh -c 'curl -sS -o /dev/null -w "%{http_code}" --cacert '"$sa"'/ca.crt -H "Authorization: Bearer $(cat '"$sa"'/token)" \
    https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/'"$K8S_NS"'/secrets')
  assert_eq 403 "$out" "the token has only the Role's rights"
  out=$(kcn exec "$pod" -- "$K8S_KUBECTL" get pod "$pod" -o 'jsonpath={.spec.serviceAccountName}')
  assert_eq default "$out" "kubectl in the pod with its in-cluster config"
  k8s_delete_pod "$pod"
  kcn delete rolebinding pod-reader >/dev/null
  kcn delete role pod-reader >/dev/null
}

register_test init_and_shared_overlay t_init_and_shared_overlay
register_test kubelet_volumes t_kubelet_volumes
register_test serviceaccount_token t_serviceaccount_token
