# shellcheck shell=bash
# Audit and bad-input checks that need containerd itself (docs/bad-input.md,
# docs/security.md). Sourced by run.sh, like test_shim_core.sh.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# Every exec is written to the shim log (which containerd copies into its own
# log) with its argv, uid, gid and whether it has a terminal.
t_exec_audit_log() {
  is_reaper || skip "reaper-specific (the runc shim does not log execs)"
  local id eid line
  id=$(cid audit)
  eid=audit-$$-$RANDOM
  ctr_run -d -- "$id" sleep 1000
  assert_wait 20 "task running" task_is "$id" RUNNING
  ctrp task exec --exec-id "$eid" "$id" /bin/sh -c 'exit 0' "two words"
  assert_wait 10 "exec logged" grep -q "exec_id=$eid " "$E2E_DIR/containerd.log"
  line=$(grep "exec_id=$eid " "$E2E_DIR/containerd.log")
  assert_contains "$line" 'level=info msg=exec ' "audit line level and message"
  assert_contains "$line" "id=$id exec_id=$eid " "audit line names the container"
  assert_contains "$line" 'namespace="" pod="" container="" ' "audit line: no pod for a ctr task"
  assert_contains "$line" 'argv="/bin/sh -c \"exit 0\" \"two words\""' "audit line argv"
  assert_contains "$line" 'uid=0 gid=0 tty=false' "audit line user and terminal"
  cleanup_container "$id"
}

register_test exec_audit_log t_exec_audit_log
