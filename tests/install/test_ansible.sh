# shellcheck shell=bash
# deploy/ansible against localhost: install.yml on a private containerd config (host root: a
# directory of the run), a task through a private containerd started with that config and the
# installed shim, then rollback.yml.

ANS_CONTAINERD_PID=""

# ans_playbook PLAYBOOK EXTRA_VARS_JSON: no network, nothing written outside the run's dir
# (ansible-core refuses to start unless the locale encoding is UTF-8: LC_ALL=C.UTF-8)
ans_playbook() {
  LC_ALL=C.UTF-8 ANSIBLE_HOME=$E2E_DIR/ansible/home ANSIBLE_LOCAL_TEMP=$E2E_DIR/ansible/local \
    ANSIBLE_REMOTE_TEMP=$E2E_DIR/ansible/remote ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
    timeout -k 10 600 ansible-playbook -i localhost, -c local "$REPO/deploy/ansible/$1" -e "$2"
}

ans_stop_containerd() {
  [[ -n $ANS_CONTAINERD_PID ]] || return 0
  kill_pids_deadline TERM 10 "$ANS_CONTAINERD_PID"
  wait "$ANS_CONTAINERD_PID" 2>/dev/null || true
  # shellcheck disable=SC2046
  kill_pids_deadline TERM 5 $(e2e_shim_pids)
  ANS_CONTAINERD_PID=""
}

test_ansible_install_run_rollback() {
  command -v ansible-playbook >/dev/null ||
    fail "ansible-playbook not installed (scripts/install-deps.sh installs ansible-core)"
  local r cfg vars before out rc k b
  r=$E2E_DIR/ansible-root
  cfg=$r/etc/containerd/config.toml
  k=$E2E_DIR/ansible/kubectl
  mkdir -p "$r/etc/containerd" "$r/etc/reaper" "$E2E_DIR/ansible"
  { e2e_config_common; echo; sample_cri_v2; } >"$cfg"
  cp -p "$cfg" "$E2E_DIR/ansible/config.orig"
  # the operator's node config (kept by install and rollback): overlay state in the run's dir
  printf 'state_root = "%s"\n' "$E2E_DIR/reaper-state" >"$r/etc/reaper/reaper.toml"
  printf '#!/bin/sh\necho "$*" >>%s.log\necho "node/x labeled"\n' "$k" >"$k"
  chmod +x "$k"
  before=$(tree_of "$r")
  vars=$(printf '{"reaper_hosts": "all", "reaper_become": false, "ansible_python_interpreter": "%s",
    "reaper_root": "%s", "reaper_stage_dir": "%s", "reaper_bin_src": "%s", "reaper_restart": false,
    "reaper_label_node": true, "reaper_node_name": "node-a", "reaper_kubectl": "%s"}' \
    "$(command -v python3)" "$r" "$E2E_DIR/ansible/stage" "$REAPER_BIN_DIR" "$k")

  out=$(ans_playbook install.yml "$vars" 2>&1) || fail "install.yml failed: $(tail -n 40 <<<"$out")"
  echo "$out"
  assert_match "$out" 'localhost +: ok=[0-9]+ +changed=[1-9][0-9]* +unreachable=0 +failed=0' "install.yml recap"
  assert_contains "$out" "RESULT: changed" "install-node.sh output"
  { cat "$E2E_DIR/ansible/config.orig"; echo; expected_block 2; } | cmp - "$cfg" ||
    fail "config after install.yml: $(diff "$E2E_DIR/ansible/config.orig" "$cfg" || true)"
  for b in "${BINARIES[@]}"; do
    cmp "$REAPER_BIN_DIR/$b" "$r/usr/local/bin/$b" || fail "$b not installed"
  done
  [[ ! -e $E2E_DIR/ansible/stage ]] || fail "stage directory left on the node"

  # containerd with the installed config; the installed bin dir on its PATH
  (cd "$E2E_DIR" && PATH="$r/usr/local/bin:$PATH" REAPER_CONFIG="$r/etc/reaper/reaper.toml" \
      exec containerd --config "$cfg" >"$E2E_DIR/containerd.log" 2>&1 </dev/null) &
  ANS_CONTAINERD_PID=$!
  # shellcheck disable=SC2034  # read by e2e_shim_pids
  E2E_CONTAINERD_PID=$ANS_CONTAINERD_PID
  trap ans_stop_containerd EXIT
  assert_eq "$r/usr/local/bin/containerd-shim-reaper-v2" \
    "$(PATH="$r/usr/local/bin:$PATH" command -v containerd-shim-reaper-v2)" "shim found by containerd"
  assert_wait 30 "containerd with the installed config did not answer" containerd_answers
  e2e_build_image
  rc=0
  out=$(ctrp run --rm --runtime io.containerd.reaper.v2 --env "E2E_MARK=$E2E_DIR" "$E2E_IMAGE" \
    "$(cid ansible)" /bin/sh -c 'echo hi' 2>&1) || rc=$?
  assert_eq 0 "$rc" "ctr run exit status (output: $out)"
  assert_eq hi "$out" "task output"
  ans_stop_containerd

  out=$(ans_playbook rollback.yml "$vars" 2>&1) || fail "rollback.yml failed: $(tail -n 40 <<<"$out")"
  echo "$out"
  assert_match "$out" 'localhost +: ok=[0-9]+ +changed=[1-9][0-9]* +unreachable=0 +failed=0' "rollback.yml recap"
  cmp "$E2E_DIR/ansible/config.orig" "$cfg" || fail "config not restored by rollback.yml"
  for b in "${BINARIES[@]}"; do
    [[ ! -e $r/usr/local/bin/$b ]] || fail "$b left by rollback.yml"
  done
  assert_eq "$before" "$(tree_of "$r")" "files left after rollback.yml"
  assert_eq "$(printf 'label node node-a reaper.io/enabled=true --overwrite\nlabel node node-a reaper.io/enabled-')" \
    "$(cat "$k.log")" "kubectl calls"
  [[ -z $(find "$E2E_DIR/ansible" -path '*/stage*') ]] || fail "stage directory left on the node"
}
register_test ansible_install_run_rollback test_ansible_install_run_rollback
