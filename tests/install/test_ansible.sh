# shellcheck shell=bash
# deploy/ansible against localhost (-c local), on a PRIVATE containerd 1.6 and 2.3 (the helpers
# of test_matrix.sh): install.yml (the node's containerd checks the config; the playbook labels
# the node only after install-node.sh saw containerd serve reaper-v2), install.yml again (no
# change), a pod through CRI with the installed shim, rollback.yml (config byte for byte, nothing
# left), rollback.yml again (no change).

# ans_playbook PLAYBOOK EXTRA_VARS_JSON: no network, nothing written outside the run's dir
# (ansible-core refuses to start unless the locale encoding is UTF-8: LC_ALL=C.UTF-8)
ans_playbook() {
  LC_ALL=C.UTF-8 ANSIBLE_HOME=$E2E_DIR/ansible/home ANSIBLE_LOCAL_TEMP=$E2E_DIR/ansible/local \
    ANSIBLE_REMOTE_TEMP=$E2E_DIR/ansible/remote ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
    timeout -k 10 600 ansible-playbook -i localhost, -c local "$REPO/deploy/ansible/$1" -e "$2"
}

ans_recap_changed() { # OUTPUT: the changed= count of localhost's recap
  sed -nE 's/^localhost +: ok=[0-9]+ +changed=([0-9]+) +unreachable=0 +failed=0.*/\1/p' <<<"$1"
}

ans_one() {
  local s=$1 d vars out k
  mx_prepare "$s" ans
  d=$MX_DIR
  k=$d/kubectl
  mx_fake_kubectl "$k"
  vars=$(printf '{"reaper_hosts": "all", "reaper_become": false, "ansible_python_interpreter": "/usr/bin/python3",
    "reaper_root": "/", "reaper_stage_dir": "%s/stage", "reaper_bin_src": "%s", "reaper_bin_dir": "%s/node/bin",
    "reaper_containerd_config": "%s/config.toml", "reaper_node_config": "%s/node/reaper.toml",
    "reaper_default_config": "%s/default-reaper.toml", "reaper_restart_cmd": "%s/restart-containerd",
    "reaper_containerd": "%s/containerd", "reaper_crictl": "%s",
    "reaper_label_node": true, "reaper_node_name": "node-%s", "reaper_kubectl": "%s"}' \
    "$d" "$REAPER_BIN_DIR" "$d" "$d" "$d" "$d" "$d" "$MX_BINDIR" "$MX_CRICTL" "$s" "$k")

  out=$(ans_playbook install.yml "$vars" 2>&1) || fail "install.yml ($s) failed: $(tail -n 40 <<<"$out")"
  echo "$out"
  assert_contains "$out" "RESULT: changed" "install-node.sh output ($s)"
  assert_contains "$out" "READY: yes" "install-node.sh output ($s)"
  assert_eq 2 "$(ans_recap_changed "$out")" "changed tasks of the first install.yml ($s: install, label)"
  [[ ! -e $d/stage ]] || fail "stage directory left on the node ($s)"
  assert_eq yes "$(mx_serves)" "reaper-v2 served after install.yml ($s)"

  out=$(ans_playbook install.yml "$vars" 2>&1) || fail "second install.yml ($s) failed: $(tail -n 40 <<<"$out")"
  assert_eq 0 "$(ans_recap_changed "$out")" "changed tasks of the second install.yml ($s)"
  assert_contains "$out" "RESULT: unchanged" "second install.yml ($s)"
  E2E_CONTAINERD_PID=$(cat "$E2E_DIR/containerd.pid")
  mx_pod "$s"

  out=$(ans_playbook rollback.yml "$vars" 2>&1) || fail "rollback.yml ($s) failed: $(tail -n 40 <<<"$out")"
  echo "$out"
  assert_contains "$out" "RESULT: changed" "rollback.yml ($s)"
  assert_eq "$(printf 'label node node-%s node-restriction.kubernetes.io/reaper-v2=true --overwrite\nlabel node node-%s node-restriction.kubernetes.io/reaper-v2=true --overwrite\nlabel node node-%s node-restriction.kubernetes.io/reaper-v2-' "$s" "$s" "$s")" \
    "$(cat "$k.log")" "kubectl calls ($s)"
  out=$(ans_playbook rollback.yml "$vars" 2>&1) || fail "second rollback.yml ($s) failed: $(tail -n 40 <<<"$out")"
  assert_contains "$out" "nothing was installed here" "second rollback.yml ($s)"
  [[ -z $(find "$d" -maxdepth 1 -name 'stage*') ]] || fail "stage directory left on the node ($s)"
  mx_finish "$s"
}

test_ansible_install_run_rollback() {
  command -v ansible-playbook >/dev/null ||
    fail "ansible-playbook not installed (scripts/install-deps.sh installs ansible-core)"
  mkdir -p "$E2E_DIR/ansible"
  mx_tools
  local s
  for s in ${INSTALL_ANSIBLE:-1.6 2.3}; do
    log "ansible on containerd $s"
    ans_one "$s"
  done
}
register_test ansible_install_run_rollback test_ansible_install_run_rollback
