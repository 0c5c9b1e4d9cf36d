# shellcheck shell=bash
# `reaperctl logs -f` across containerd restarts (issue 12, defect 7). A pod prints a counter
# line every 100 ms; a follower started before the restarts keeps following through a SIGTERM
# and then a SIGKILL restart of containerd (each outage long enough for the pod to write 20
# lines that reach the log only after the restart), prints every line exactly once, and ends
# (exit 0) with the container's final line once the pod is removed. And the bound: with containerd gone
# longer than --reconnect-timeout and no new output, the follower exits 125 saying why.
# Sourced by run.sh (lib.sh: the private containerd with CRI, reaperctl as kubelet);
# containerd is restarted with tests/cri/faults_lib.sh.
#
# Container commands run in the NODE's /bin/sh (dash): POSIX sh only.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# shellcheck source=tests/cri/faults_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults_lib.sh"

LF_PID=""  # the follower (a reaperctl started by this test)

# lf_follow <pod> <prefix> [logs options...]: starts `reaperctl logs -f` in the background,
# like rctl but without its `timeout` wrapper (the follower outlives CRI_RPC_TIMEOUT; the test
# bounds it and kills it by PID): stdout to <prefix>.out, stderr to <prefix>.err.
lf_follow() {
  local pod=$1 prefix=$2
  shift 2
  "$REAPERCTL" --runtime-endpoint "unix://$E2E_ADDR" --default-image "$E2E_IMAGE" \
    --log-root "$E2E_DIR/pod-logs" --root "$E2E_DIR/reaperctl" \
    logs -f "$@" "$pod" >"$prefix.out" 2>"$prefix.err" </dev/null &
  LF_PID=$!
}

# lf_wait_exit <deadline>: waits for the follower to end; its exit status in LF_RC.
lf_wait_exit() {
  assert_wait "$1" "follower $LF_PID ended" pid_gone "$LF_PID"
  LF_RC=0
  wait "$LF_PID" || LF_RC=$?
  LF_PID=""
}

# lf_expect <deadline> <what> <command...>: waits until the command succeeds while the follower
# runs; fails at once, with its exit status and stderr, if the follower ends first.
lf_follower_ended() { ! kill -0 "$LF_PID" 2>/dev/null; }
lf_done_or_ended() { "$@" || lf_follower_ended; }
lf_expect() {
  local deadline=$1 what=$2 rc=0
  shift 2
  assert_wait "$deadline" "$what (waited for: $*)" lf_done_or_ended "$@"
  if ! "$@" && lf_follower_ended; then
    wait "$LF_PID" || rc=$?
    LF_PID=""
    fail "$what: the follower ended instead, exit status $rc, after $(lf_lines "$LF_PREFIX.out") lines (stderr: $(tr '\n' ' ' <"$LF_PREFIX.err"))"
  fi
}

# On the way out: no follower left, and a containerd for the next tests.
lf_cleanup() {
  if [[ -n $LF_PID ]]; then
    kill -KILL "$LF_PID" 2>/dev/null || true
    wait "$LF_PID" 2>/dev/null || true
  fi
  containerd_answers || faults_start_containerd
}

# Lines of a file; the last line of a file.
lf_lines() { wc -l <"$1"; }
lf_last() { tail -n 1 "$1"; }
# lf_printed_beyond <out> <n>: the follower printed counter values beyond n.
lf_printed_beyond() { [[ $(grep -cE '^[0-9]+$' "$1") -gt $2 ]]; }
lf_err_count() { grep -cF -- "$2" "$1" || true; }
lf_err_has() { grep -qF -- "$2" "$1"; }

# lf_check_counter <out>: the follower's output is 0, 1, 2, ... N, then "final"; prints what
# is wrong (a gap, a duplicate, a stray line), nothing if it is right.
lf_check_counter() {
  awk '
    /^[0-9]+$/ && !final { if ($1 != want + 0) printf "line %d: expected %d, got %s\n", NR, want, $1; want = $1 + 1; next }
    $0 == "final" && !final { final = 1; next }
    { printf "line %d: unexpected: %s\n", NR, $0 }
    END { if (NR == 0) print "empty output"; else if (!final) print "no final line" }' "$1"
}

# The counter the pod has reached (it also writes each value to a file in the data volume:
# its log lines pile up in the shim while containerd is down).
lf_counter() { local v; v=$(cat "$LF_COUNTER" 2>/dev/null); echo "${v:--1}"; }
lf_counter_beyond() { (( $(lf_counter) > $1 )); }

# During an outage: the follower noticed that the runtime is gone and is still running, and
# the pod wrote 20 more lines (2 s) that only reach the log once containerd is back.
lf_during_outage() {
  local n=$1 c
  c=$(lf_counter)
  lf_expect 30 "follower noticed outage $n" lf_err_count_is "$LF_PREFIX.err" "lost the CRI runtime" "$n"
  assert_wait 30 "counter went on during outage $n (from $c)" lf_counter_beyond $((c + 20))
  kill -0 "$LF_PID" 2>/dev/null || fail "follower exited while containerd was down: $(cat "$LF_PREFIX.err")"
}
lf_err_count_is() { [[ $(lf_err_count "$1" "$2") == "$3" ]]; }

t_logs_follow_across_restarts() {
  local pod f log keep out err last n sig gaps
  pod=$(pod_name follow) f=$E2E_DIR/data/$pod.yaml
  LF_PREFIX=$E2E_DIR/data/$pod
  out=$LF_PREFIX.out err=$LF_PREFIX.err keep=$E2E_DIR/data/$pod.log
  track "$pod"
  trap lf_cleanup EXIT
  LF_COUNTER=$E2E_DIR/data/$pod.counter
  write_pod "$f" "$pod" Never "$(container_yaml main \
    "i=0; trap 'echo final; exit 0' TERM; while :; do echo \$i; echo \$i >$LF_COUNTER; i=\$((i+1)); sleep 0.1; done")"
  rctl -q run -d -f "$f" >/dev/null
  assert_wait 60 "counter pod running" container_state_is "$pod" main Running
  log=$(faults_field "$(faults_inspect "$pod")" main log)
  [[ -n $log ]] || fail "no log path for $pod"
  assert_wait 30 "counter logging" faults_counter_beyond "$log" 5
  # A second name for the log file: `rm` removes the pod's log directory, the check at the end
  # compares the follower's output with everything the runtime wrote.
  ln "$log" "$keep"

  lf_follow "$pod" "$LF_PREFIX"
  lf_expect 30 "follower printing" lf_printed_beyond "$out" 10

  n=0
  for sig in TERM KILL; do
    n=$((n + 1))
    last=$(grep -cE '^[0-9]+$' "$out")
    faults_restart_containerd "$sig" lf_during_outage "$n"
    lf_expect 60 "follower reconnected after the SIG$sig restart" \
      lf_err_count_is "$err" "reconnected to the CRI runtime" "$n"
    lf_expect 60 "follower prints on after the SIG$sig restart ($last lines before)" \
      lf_printed_beyond "$out" $((last + 10))
    kill -0 "$LF_PID" 2>/dev/null || fail "follower ended after the SIG$sig restart"
    log "follower went on across the SIG$sig restart: $(lf_lines "$out") lines"
  done

  # Removing the pod: SIGTERM, the container prints "final"; the follower ends with that line.
  rctl -q rm "$pod"
  lf_wait_exit 60
  assert_eq 0 "$LF_RC" "follower's exit status once the pod is removed (stderr: $(cat "$err"))"
  gaps=$(lf_check_counter "$out")
  assert_empty "$gaps" "follower output $out ($(lf_lines "$out") lines, last '$(lf_last "$out")')"
  # exactly what the runtime wrote into the log file, once
  assert_eq "$(sed -E 's/^[^ ]+ stdout F //' "$keep" | cksum)" "$(cksum <"$out")" \
    "follower output vs the log file $keep"
  assert_eq 2 "$(lf_err_count "$err" "lost the CRI runtime")" "outages reported"
  assert_eq 2 "$(lf_err_count "$err" "reconnected to the CRI runtime")" "reconnections reported"
  assert_eq 0 "$(lf_err_count "$err" "reaperctl: error")" "errors on the follower's stderr: $(cat "$err")"
  log "follower: $(lf_lines "$out") lines, last '$(lf_last "$out")'"
}

register_test logs_follow_across_restarts t_logs_follow_across_restarts

t_logs_follow_gives_up() {
  local pod f out err rc=0 tail_err
  pod=$(pod_name followgone) f=$E2E_DIR/data/$pod.yaml
  LF_PREFIX=$E2E_DIR/data/$pod
  out=$LF_PREFIX.out err=$LF_PREFIX.err
  track "$pod"
  trap lf_cleanup EXIT
  write_pod "$f" "$pod" Never "$(container_yaml main "echo one; echo two; exec sleep 1000")"
  rctl -q run -d -f "$f" >/dev/null
  assert_wait 60 "pod running" container_state_is "$pod" main Running

  lf_follow "$pod" "$LF_PREFIX" --reconnect-timeout 3
  lf_expect 30 "follower printed the output" grep -qx two "$out"
  faults_stop_containerd KILL
  lf_wait_exit 60
  assert_eq 125 "$LF_RC" "follower's exit status with the runtime gone (stderr: $(cat "$err"))"
  assert_eq "one
two" "$(cat "$out")" "follower output"
  lf_err_has "$err" "lost the CRI runtime" || fail "no outage note: $(cat "$err")"
  assert_match "$(cat "$err")" "error: logs -f: stopped following container main of pod $pod: the CRI runtime has not answered for [0-9.]+ s .* and the log did not grow for 3\.0 s \(--reconnect-timeout\); the container may still be running" \
    "the follower's reason"
  faults_start_containerd

  # Not following: --tail, and a count with trailing garbage is a usage error naming the flag.
  assert_eq two "$(rctl logs --tail 1 "$pod")" "logs --tail 1"
  tail_err=$(rctl logs --tail 3abc "$pod" 2>&1) || rc=$?
  assert_eq 2 "$rc" "exit status of logs --tail 3abc"
  assert_contains "$tail_err" '--tail: expected an integer from -1 to 100000000' "logs --tail 3abc"
  rctl -q rm -f "$pod"
}

register_test logs_follow_gives_up t_logs_follow_gives_up
