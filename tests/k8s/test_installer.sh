# shellcheck shell=bash
# The node installer DaemonSet (deploy/kubernetes) on this real node, as docs/kubernetes.md
# tells an operator to use it: the installer image is built offline
# (deploy/kubernetes/installer/build-image.sh) and imported into the node's containerd; the
# harness's own install is removed first (the node is then as it was before Reaper); then
# `kubectl apply -k` of an overlay of deploy/kubernetes installs Reaper through the node's
# containerd, the node gets its label, a reaper-v2 Pod runs and logs; the uninstall DaemonSet
# (deploy/kubernetes/uninstall) restores containerd's config byte for byte and removes the
# label and the binaries; at the end the harness installs Reaper again for the other tests.
#
# The overlay changes only what this test node needs (docs/kubernetes.md "The installer
# DaemonSet on the test node"): the image name; hostNetwork and the API server's address for
# kubectl (no CNI, no kube-proxy on the test node); the private node's paths (containerd's
# binary and config, Reaper's bin dir and node config, all under the run's temp dir, reached
# through /host); and the restart command. containerd must be restarted by the harness (it
# tracks containerd by pid and keeps it out of the installer pod's cgroup, which runc empties
# when the pod goes), so the restart command writes a request into a FIFO that a watcher of
# this test reads (a blocking read, no polling), and waits for the answer on a second FIFO.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

K8S_INSTALLER_IMAGE=reaper.test/reaper-node-installer:test
K8S_LABEL=node-restriction.kubernetes.io/reaper-v2

k8s_node_label() { kc get node "$K8S_NODE" -o "jsonpath={.metadata.labels.${K8S_LABEL//./\\.}}" 2>/dev/null; }

# The watcher: one restart of the harness's containerd per request line, "ok" or "failed" back.
ds_watch_restarts() {
  local line
  while read -r line <"$DS_DIR/restart.req"; do
    [[ $line == restart ]] || continue
    echo "restart $((++DS_RESTARTS)) requested by the installer pod" >>"$DS_DIR/restarts.log"
    if k8s_restart containerd >>"$DS_DIR/restarts.log" 2>&1; then echo ok; else echo failed; fi >"$DS_DIR/restart.done"
  done
}

# ds_overlay DIR BASE ARGS...: a kustomization in DIR over BASE (a directory of the repository)
# with the test node's patches; ARGS: the init container's arguments.
ds_overlay() {
  local dir=$1 base=$2
  shift 2
  mkdir -p "$dir"
  {
    printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n'
    printf '  - %s\n' "$(realpath --relative-to="$dir" "$base")"
    printf 'images:\n  - name: reaper-node-installer\n    newName: %s\n    newTag: %s\n' \
      "${K8S_INSTALLER_IMAGE%:*}" "${K8S_INSTALLER_IMAGE##*:}"
    printf 'patches:\n  - target: {kind: DaemonSet}\n    patch: |-\n'
    printf '      - {op: add, path: /spec/template/spec/hostNetwork, value: true}\n'
    printf '      - {op: add, path: /spec/template/spec/initContainers/0/env/-, value: {name: KUBERNETES_SERVICE_HOST, value: "127.0.0.1"}}\n'
    printf '      - {op: add, path: /spec/template/spec/initContainers/0/env/-, value: {name: KUBERNETES_SERVICE_PORT, value: "%s"}}\n' "$K8S_API_PORT"
    printf '      - op: replace\n        path: /spec/template/spec/initContainers/0/args\n        value:\n'
    python3 -c 'import json, sys; [print("          - " + json.dumps(a)) for a in sys.argv[1:]]' "$@"
  } >"$dir/kustomization.yaml"
}

# ds_pod NAME: the pod of the DaemonSet whose app.kubernetes.io/name is NAME; ds_pod_ready: it is
# Ready (its init container is done)
ds_pod() { kc -n reaper-system get pods -l "app.kubernetes.io/name=$1" -o jsonpath='{.items[0].metadata.name}' 2>/dev/null; }
ds_pod_ready() {
  local p
  p=$(ds_pod "$1") && [[ -n $p ]] &&
    [[ $(kc -n reaper-system get pod "$p" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
ds_pod_gone() { [[ -z $(ds_pod "$1") ]]; }

# The EXIT trap of the test: best effort, every step (no errexit, no ERR trap here).
ds_cleanup() {
  set +eE
  trap - ERR
  [[ -z ${DS_WATCHER:-} ]] || { kill "$DS_WATCHER" 2>/dev/null; wait "$DS_WATCHER" 2>/dev/null; }
  DS_WATCHER=""
  kc -n reaper-system delete daemonset reaper-node-installer reaper-node-uninstaller --ignore-not-found \
    --wait=true --timeout=90s >/dev/null 2>&1 || true
  kc delete namespace reaper-system --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1 || true
  kc delete clusterrole,clusterrolebinding reaper-node-installer --ignore-not-found >/dev/null 2>&1 || true
  E2E_CTR_TIMEOUT=30 ctrp images rm "$K8S_INSTALLER_IMAGE" >/dev/null 2>&1 || true
  # the other tests need the harness's install back (and the node config it wrote)
  if [[ ! -x $E2E_DIR/node/bin/containerd-shim-reaper-v2 || -n ${DS_REINSTALL:-} ]]; then
    [[ -f $DS_DIR/reaper.toml ]] && [[ ! -f $K8S_REAPER_CONFIG ]] && cp "$DS_DIR/reaper.toml" "$K8S_REAPER_CONFIG"
    (k8s_install_reaper) || echo "ds_cleanup: restoring the harness's install failed" >&2
  fi
  return 0
}

t_installer_daemonset() {
  local kubectl_img out pod before_pid
  DS_DIR=$E2E_DIR/daemonset
  mkdir -p "$DS_DIR"
  trap ds_cleanup EXIT
  command -v podman >/dev/null || fail "podman not installed (scripts/install-deps.sh)"
  cp "$K8S_REAPER_CONFIG" "$DS_DIR/reaper.toml"

  # 1. the image, built offline from this build, imported into the node's containerd
  "$REPO/deploy/kubernetes/installer/build-image.sh" "$DS_DIR/installer.tar" --work "$DS_DIR/image" \
    --tag "$K8S_INSTALLER_IMAGE" --bin-src "$REAPER_BIN_DIR" --crictl "$K8S_CRICTL" --kubectl "$K8S_KUBECTL" \
    >"$DS_DIR/build-image.log" 2>&1 || fail "build-image.sh failed: $(tail -n 5 "$DS_DIR/build-image.log")"
  rm -rf "$DS_DIR/image"
  E2E_CTR_TIMEOUT=120 ctrp images import "$DS_DIR/installer.tar" >"$DS_DIR/import.log" 2>&1 ||
    fail "ctr images import: $(cat "$DS_DIR/import.log")"
  rm -f "$DS_DIR/installer.tar"
  grep -qxF "$K8S_INSTALLER_IMAGE" <<<"$(ctrp images ls -q)" || fail "$K8S_INSTALLER_IMAGE not listed after import"

  # 2. the harness's install removed: the config is the one containerd started with
  DS_REINSTALL=1
  out=$(k8s_install_node --uninstall 2>&1) || fail "install-node.sh --uninstall failed: $out"
  assert_contains "$out" "RESULT: changed" "the harness's uninstall"
  cmp "$E2E_DIR/containerd/config.toml.orig" "$K8S_CONTAINERD_CONFIG" ||
    fail "the harness's uninstall did not restore containerd's config"
  [[ ! -e $E2E_DIR/node/bin/containerd-shim-reaper-v2 ]] || fail "the shim is still installed"
  assert_eq "" "$(k8s_node_label)" "node label after the harness's uninstall"

  # 3. the install DaemonSet
  mkfifo "$DS_DIR/restart.req" "$DS_DIR/restart.done"
  DS_RESTARTS=0
  ds_watch_restarts &
  DS_WATCHER=$!
  local node_args=(--root /host --containerd "$K8S_CONTAINERD_BIN/containerd"
    --containerd-config "$K8S_CONTAINERD_CONFIG" --node-config "$K8S_REAPER_CONFIG"
    --crictl /opt/reaper/bin/crictl --kubectl /opt/reaper/bin/kubectl --label-node '$(NODE_NAME)'
    --restart-cmd "echo restart >/host$DS_DIR/restart.req && read r </host$DS_DIR/restart.done && [ \"\$r\" = ok ]")
  ds_overlay "$DS_DIR/install" "$REPO/deploy/kubernetes" "${node_args[@]}" --bin-src /opt/reaper/bin \
    --bin-dir "$E2E_DIR/node/bin" --default-config /etc/reaper-default/reaper.toml
  before_pid=$(k8s_pid containerd)
  kc apply -k "$DS_DIR/install" >"$DS_DIR/apply.log" 2>&1 || fail "kubectl apply -k: $(cat "$DS_DIR/apply.log")"
  assert_wait 240 "the installer pod Ready" ds_pod_ready reaper-node-installer
  pod=$(ds_pod reaper-node-installer)
  out=$(kc -n reaper-system logs "$pod" -c install)
  echo "$out" >"$DS_DIR/install-pod.log"
  assert_contains "$out" "READY: yes" "installer log: $out"
  [[ $(tail -n 1 <<<"$out") == *"RESULT: changed" ]] || fail "installer's last line: $(tail -n 1 <<<"$out")"
  assert_contains "$out" "checked by $K8S_CONTAINERD_BIN/containerd" "the node's containerd checked the config"
  [[ $(k8s_pid containerd) != "$before_pid" ]] || fail "containerd was not restarted"
  assert_eq 1 "$(grep -c '^restart ' "$DS_DIR/restarts.log")" "containerd restarts requested by the installer pod"
  cmp "$REAPER_BIN_DIR/containerd-shim-reaper-v2" "$E2E_DIR/node/bin/containerd-shim-reaper-v2" ||
    fail "the DaemonSet did not install the shim into $E2E_DIR/node/bin"
  assert_eq true "$(k8s_node_label)" "node label set by the installer"

  # 4. a reaper-v2 Pod on what the DaemonSet installed
  track ds-hello
  k8s_apply "$(k8s_pod_yaml ds-hello Never "$(k8s_container main 'echo installed-by-daemonset; cat /proc/self/comm')")"
  k8s_wait_phase ds-hello Succeeded 90
  assert_eq $'installed-by-daemonset\ncat' "$(kcn logs ds-hello)" "the pod's log"
  k8s_delete_pod ds-hello

  # 5. the uninstall DaemonSet: config byte for byte, label and binaries gone
  kc -n reaper-system delete daemonset reaper-node-installer --wait=true --timeout=90s >/dev/null
  assert_wait 90 "the installer pod gone" ds_pod_gone reaper-node-installer
  ds_overlay "$DS_DIR/uninstall" "$REPO/deploy/kubernetes/uninstall" --uninstall "${node_args[@]}"
  before_pid=$(k8s_pid containerd)
  kc apply -k "$DS_DIR/uninstall" >>"$DS_DIR/apply.log" 2>&1 || fail "kubectl apply -k uninstall: $(cat "$DS_DIR/apply.log")"
  assert_wait 240 "the uninstaller pod Ready" ds_pod_ready reaper-node-uninstaller
  out=$(kc -n reaper-system logs "$(ds_pod reaper-node-uninstaller)" -c uninstall)
  echo "$out" >"$DS_DIR/uninstall-pod.log"
  [[ $(tail -n 1 <<<"$out") == *"RESULT: changed" ]] || fail "uninstaller's last line: $(tail -n 1 <<<"$out")"
  [[ $(k8s_pid containerd) != "$before_pid" ]] || fail "containerd was not restarted by the uninstall"
  cmp "$E2E_DIR/containerd/config.toml.orig" "$K8S_CONTAINERD_CONFIG" ||
    fail "the uninstall DaemonSet did not restore containerd's config byte for byte: $(diff "$E2E_DIR/containerd/config.toml.orig" "$K8S_CONTAINERD_CONFIG" | head -n 20)"
  [[ ! -e $K8S_CONTAINERD_CONFIG.reaper-backup ]] || fail "the config backup was left behind"
  local f
  for f in containerd-shim-reaper-v2 reaper-runtime reaper-overlay; do
    [[ ! -e $E2E_DIR/node/bin/$f ]] || fail "$f left in $E2E_DIR/node/bin"
  done
  [[ ! -e $(dirname "$K8S_REAPER_CONFIG")/install-manifest.json ]] || fail "the install manifest was left behind"
  cmp "$DS_DIR/reaper.toml" "$K8S_REAPER_CONFIG" || fail "the node config (not installed by the DaemonSet) was changed"
  assert_eq "" "$(k8s_node_label)" "node label after the uninstall DaemonSet"
  assert_eq 2 "$(grep -c '^restart ' "$DS_DIR/restarts.log")" "containerd restarts requested by the pods"
}
register_test installer_daemonset t_installer_daemonset
