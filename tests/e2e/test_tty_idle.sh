# shellcheck shell=bash
# A terminal process that has exited costs its shim nothing (issue 12, defect 1): once the
# process on a PTY exits, the shim's stdin copy used to see the master's EPOLLHUP on every
# loop turn and spin at 100% of a CPU until the task or exec was deleted (kubelet keeps dead
# containers until their pod goes). Each test leaves the exited process undeleted and
# measures the shim's utime+stime (/proc/<pid>/stat) over a 5 s window: < 1%.
#
# Sourced by run.sh (lib.sh, the private containerd and the image). The terminal of ctr is
# `script`'s pseudo-terminal (ctr -t needs one on its stdin). Runs against runc too.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

TI_WINDOW=5 # seconds of measurement

# ti_shim_of <id>: the pid of the shim serving container <id>: a containerd-shim-* process
# whose argv holds `-id <id>` (reaper's and runc's shims alike; ids are unique to this run).
ti_shim_of() {
  local p exe
  for p in $(pgrep -f -- "(^| )-id $1( |\$)" || true); do
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
    [[ ${exe##*/} == containerd-shim* ]] && echo "$p"
  done
  return 0
}

# ti_cpu_ticks <pid>: utime+stime of the process in clock ticks (fields 14 and 15 of stat).
ti_cpu_ticks() {
  local stat f
  stat=$(cat "/proc/$1/stat") || return 1
  stat=${stat##*) } # after "pid (comm) ": field 3 (state) comes first
  read -r -a f <<<"$stat"
  echo $((f[11] + f[12]))
}

# ti_expect_idle <shim-pid> <what>: the shim uses < 1% of a CPU over TI_WINDOW seconds.
ti_expect_idle() {
  local shim=$1 what=$2 hz a b used
  hz=$(getconf CLK_TCK)
  a=$(ti_cpu_ticks "$shim") || fail "shim $shim gone before the measurement"
  sleep "$TI_WINDOW" # measurement window, not synchronisation
  b=$(ti_cpu_ticks "$shim") || fail "shim $shim died during the measurement"
  used=$((b - a))
  echo "$what: shim $shim used $used ticks (CLK_TCK $hz) in ${TI_WINDOW} s"
  # used/hz seconds of CPU < 1% of TI_WINDOW seconds
  ((used * 100 < TI_WINDOW * hz)) ||
    fail "$what: the shim used $used CPU ticks in ${TI_WINDOW} s ($((used * 100 / (TI_WINDOW * hz)))% of a CPU; limit 1%)"
}

# ti_under_tty <log> <cmd...>: runs cmd with a pseudo-terminal as stdin/stdout (script(1));
# returns cmd's exit status; the terminal's output goes to <log>.
ti_under_tty() {
  local log=$1 cmd
  shift
  printf -v cmd ' %q' "$@"
  script -qefc "$cmd" /dev/null >"$log" 2>&1 </dev/null
}

ti_no_marked_sh() { ! pgrep -f -- "$1" >/dev/null; }

# 1. ctr run -d -t …, the task's process exits, the task stays undeleted.
t_ti_run_tty_exited() {
  local id shim log=$E2E_DIR/data/ti-run.tty
  id=$(cid tty-idle-run)
  track "$id"
  ti_under_tty "$log" ctr --address "$E2E_ADDR" --namespace "$E2E_NS" run -d -t --runtime "$RUNTIME" \
    --env "E2E_MARK=$E2E_DIR" "$E2E_IMAGE" "$id" sh -c 'sleep 1' ||
    fail "ctr run -d -t failed: $(head -c 400 "$log")"
  shim=$(ti_shim_of "$id")
  assert_match "$shim" '^[0-9]+$' "one shim for $id"
  assert_wait 20 "task exited" task_is "$id" STOPPED
  ti_expect_idle "$shim" "exited tty task $id"
  assert_eq STOPPED "$(task_status "$id")" "task still there, undeleted"
  cleanup_container "$id"
}

# 2. ctr task exec -d -t … into a running task, the exec's process exits, it stays undeleted.
t_ti_exec_tty_exited() {
  local id shim mark log=$E2E_DIR/data/ti-exec.tty
  id=$(cid tty-idle-exec)
  mark="ti-exec-$E2E_RUNID-$RANDOM"
  ctr_run -d -- "$id" sleep 100000
  assert_wait 20 "task running" task_is "$id" RUNNING
  shim=$(ti_shim_of "$id")
  assert_match "$shim" '^[0-9]+$' "one shim for $id"
  ti_under_tty "$log" ctr --address "$E2E_ADDR" --namespace "$E2E_NS" task exec -d -t --exec-id tty1 \
    "$id" sh -c "sleep 1; true $mark" ||
    fail "ctr task exec -d -t failed: $(head -c 400 "$log")"
  # the exec's shell carries the marker in its argv
  assert_wait 20 "exec process exited" ti_no_marked_sh "$mark"
  ti_expect_idle "$shim" "exited tty exec tty1 in $id"
  assert_eq RUNNING "$(task_status "$id")" "task still running"
  cleanup_container "$id"
}

register_test ti_run_tty_exited t_ti_run_tty_exited
register_test ti_exec_tty_exited t_ti_exec_tty_exited
