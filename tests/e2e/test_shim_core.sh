# shellcheck shell=bash
# Core acceptance tests for containerd-shim-reaper-v2, driven through ctr.
# Sourced by run.sh (which provides lib.sh, the private containerd and the
# image). Every test works against runc too (RUNTIME=io.containerd.runc.v2)
# unless it calls `skip`.
#
# Commands must work with the host's /bin/sh (dash, reaper) and with the
# image's busybox sh (runc): POSIX sh only, no bashisms.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# Under runc the task is pid 1 of a new pid namespace, where the kernel
# drops signals that have no handler (SIGTERM to `sleep` would be ignored).
# Joining the runner's pid namespace makes signal tests meaningful with runc;
# reaper runs host processes and ignores namespaces, so pass nothing.
pidns_opts() {
  if is_runc; then echo "--with-ns=pid:/proc/$$/ns/pid"; fi
}

# Unique number used as a `sleep` argument so leftovers can be found by pgrep.
unique_sleep() { echo $(( 1000000 + (RANDOM << 8) + ($$ & 255) )); }
sleep_procs() { pgrep -f "^(/bin/|/usr/bin/)?sleep $1\$" || true; }
no_sleep_procs() { [[ -z $(sleep_procs "$1") ]]; }
count_is() { [[ $("${@:2}" | wc -l) -eq $1 ]]; }

sha_of_file() { sha256sum "$1" | cut -d' ' -f1; }

# delete_exit_status <id>: wait until STOPPED, `ctr task delete`, and print
# the exit status. ctr 1.6 exits 0 from `task delete` and only prints
# "task <id> exit with non-zero exit code N" (to stderr) when N != 0.
delete_exit_status() {
  local id=$1 out
  wait_until 20 task_is "$id" STOPPED || { echo "not-stopped"; return 0; }
  out=$(ctrp task delete "$id" 2>&1) || { echo "delete-failed: $out"; return 0; }
  if [[ $out =~ exit\ code\ ([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]}"
  else
    echo 0
  fi
}

# ---------------------------------------------------------------------------

t_echo() {
  local out
  out=$(ctr_run --rm -- "$(cid echo)" /bin/sh -c 'echo hi')
  assert_eq "hi" "$out" "stdout of echo"
}

t_exit_code() {
  local rc=0
  ctr_run --rm -- "$(cid exit42)" /bin/sh -c 'exit 42' || rc=$?
  assert_eq 42 "$rc" "ctr run exit code"
}

t_env() {
  local out
  # shellcheck disable=SC2016 # $FOO is expanded by the task's shell
  out=$(ctr_run --rm --env FOO=bar -- "$(cid env)" /bin/sh -c 'echo "FOO=$FOO"')
  assert_eq "FOO=bar" "$out" "env var"
}

t_cwd() {
  local out
  out=$(ctr_run --rm --cwd /tmp -- "$(cid cwd)" /bin/sh -c pwd)
  assert_eq "/tmp" "$out" "working dir"
}

# `ctr run` always forwards its stdin (there is no -i flag in 1.6), but never
# sends CloseIO when its stdin ends, so use a reader that stops after exactly
# N bytes. Both tests check the bytes where the task puts them, not what ctr's
# own stdout copy got: the ctr client stops copying the FIFOs at Delete and drops
# an unread tail (any containerd, runc's shim too); the FIFO path itself is
# checked byte for byte by ShimTest.TwentyMegabytesThroughTheStdoutFifo.
t_stdin_1mib() {
  local in=$E2E_DIR/data/stdin.in out=$E2E_DIR/data/stdin.out
  head -c 1048576 /dev/urandom >"$in"
  : >"$out"
  # the task writes through a bind mount (its own writes elsewhere land in the overlay)
  ctr_run --rm --mount "type=bind,src=$E2E_DIR/data,dst=$E2E_DIR/data,options=rbind:rw" \
    -- "$(cid stdin)" /bin/sh -c "head -c 1048576 >'$out'" <"$in" >/dev/null
  assert_eq 1048576 "$(stat -c %s "$out")" "bytes read back"
  assert_eq "$(sha_of_file "$in")" "$(sha_of_file "$out")" "sha256 of stdin round trip"
}

t_stdout_20mb() {
  local data=$E2E_DIR/data/big out=$E2E_DIR/data/big.out
  head -c 20000000 /dev/urandom >"$data"
  # reaper runs on the host and sees $data directly; runc needs the bind. The shim
  # writes stdout into the file:// log itself, so every byte it copied is there.
  ctr_run --rm --log-uri "file://$out" --mount "type=bind,src=$E2E_DIR/data,dst=$E2E_DIR/data,options=rbind:ro" \
    -- "$(cid big)" cat "$data" >/dev/null
  assert_eq 20000000 "$(stat -c %s "$out")" "stdout size"
  assert_eq "$(sha_of_file "$data")" "$(sha_of_file "$out")" "sha256 of 20 MB stdout"
}

# SIGTERM on a detached task; status collected with `ctr task delete`.
t_sigterm_143() {
  local id
  id=$(cid term)
  # shellcheck disable=SC2046
  ctr_run -d $(pidns_opts) -- "$id" sleep 1000
  assert_wait 20 "task running" task_is "$id" RUNNING
  ctrp task kill -s SIGTERM "$id"
  assert_eq 143 "$(delete_exit_status "$id")" "exit status after SIGTERM"
  ctrp container delete "$id"
}

# SIGKILL on a foreground `ctr run` in the background; status = its exit code.
t_sigkill_137() {
  local id pid rc=0
  id=$(cid kill)
  # shellcheck disable=SC2046
  ctr_run --rm $(pidns_opts) -- "$id" sleep 1000 >/dev/null 2>&1 &
  pid=$!
  assert_wait 20 "task running" task_is "$id" RUNNING
  ctrp task kill -s SIGKILL "$id"
  wait "$pid" || rc=$?
  assert_eq 137 "$rc" "ctr run exit code after SIGKILL"
  assert_wait 20 "container removed by --rm" container_absent "$id"
}

t_exec_and_ps() {
  local id out rc=0 tpid ps
  id=$(cid exec)
  ctr_run -d -- "$id" sleep 1000
  assert_wait 20 "task running" task_is "$id" RUNNING
  out=$(ctrp task exec --exec-id e1 "$id" /bin/sh -c 'echo fromexec; exit 5') || rc=$?
  assert_eq "fromexec" "$out" "exec stdout"
  assert_eq 5 "$rc" "exec exit code"

  tpid=$(task_pid "$id")
  assert_match "$tpid" '^[0-9]+$' "task pid from ctr task ls"
  ps=$(ctrp task ps "$id")
  assert_match "$ps" "^$tpid( |\$)" "ctr task ps lists the init pid"

  ctrp task exec -d --exec-id e2 "$id" sleep 1002
  assert_wait 20 "task ps shows init + exec" count_is 3 ctrp task ps "$id" # header + 2
  cleanup_container "$id"
  assert_wait 10 "container gone" container_absent "$id"
}

E2E_PROBE_N=0
events_probe() { # <events-file> <image-name-prefix>
  E2E_PROBE_N=$((E2E_PROBE_N + 1))
  ctrp images tag "$E2E_IMAGE" "$2:$E2E_PROBE_N" >/dev/null
  grep -qF "$2" "$1"
}

# ctr events: /tasks/create, start, exit, delete for the container, in order.
t_events() {
  local id ev evpid sentinel order
  id=$(cid events)
  ev=$E2E_DIR/data/events.txt
  timeout 120 ctr --address "$E2E_ADDR" --namespace "$E2E_NS" events >"$ev" 2>&1 &
  evpid=$!
  # make sure the subscription is live: keep causing events of our own
  # (image tags) until one shows up; earlier ones may precede the subscription
  sentinel=docker.io/library/reaper-sentinel-$E2E_RUNID
  assert_wait 20 "events subscription live" events_probe "$ev" "$sentinel"
  # shellcheck disable=SC2046
  ctrp images rm $(ctrp images ls -q | grep -F "$sentinel") >/dev/null

  ctr_run --rm -- "$id" /bin/sh -c 'exit 3' || true
  assert_wait 20 "/tasks/delete event" grep -qE "/tasks/delete .*\"$id\"" "$ev"
  kill "$evpid" 2>/dev/null || true
  wait "$evpid" 2>/dev/null || true
  order=$(grep -F "\"$id\"" "$ev" | grep -oE '/tasks/(create|start|exit|delete)' | tr '\n' ' ')
  assert_eq "/tasks/create /tasks/start /tasks/exit /tasks/delete " "$order" "task event order"
  assert_match "$(grep -F /tasks/exit "$ev" | grep -F "\"$id\"")" '"exit_status":3' "exit status in /tasks/exit"
}

# Socket name a shim for <group> of our containerd would use (protocol §2.4).
shim_sock_name() { printf '%s' "$E2E_ADDR/$E2E_NS/$1" | sha256sum | cut -d' ' -f1; }

# new_stale_or_ours <before-file>: sockets that appeared since <before-file>
# and are not a live listener of some other containerd's shim.
new_sockets_of_ours() {
  local s listeners pid
  while read -r s; do
    [[ -n $s ]] || continue
    listeners=$(ss -xlpn 2>/dev/null | grep -F "$SHIM_SOCK_DIR/$s" | grep -oE 'pid=[0-9]+' | cut -d= -f2)
    if [[ -z $listeners ]]; then echo "$s (stale)"; continue; fi
    for pid in $listeners; do
      if e2e_shim_pids | grep -qx "$pid"; then echo "$s (pid $pid)"; fi
    done
  done < <(comm -13 "$1" <(shim_socket_list))
}

t_concurrent_30() {
  local n=30 i code rc ids=() pids=() before errors=""
  before=$E2E_DIR/data/socks.before
  shim_socket_list >"$before"
  for ((i = 1; i <= n; i++)); do
    ids[i]=$(cid "c$i")
    code=$(( (i * 37 + 1) % 256 ))
    E2E_CTR_TIMEOUT=180 ctr_run --rm -- "${ids[i]}" /bin/sh -c "exit $code" \
      >"$E2E_DIR/data/c$i.out" 2>&1 &
    pids[i]=$!
  done
  for ((i = 1; i <= n; i++)); do
    rc=0
    wait "${pids[i]}" || rc=$?
    code=$(( (i * 37 + 1) % 256 ))
    if [[ $rc != "$code" ]]; then
      errors+="task $i: want $code got $rc ($(head -c 200 "$E2E_DIR/data/c$i.out")); "
    fi
  done
  assert_empty "$errors" "exit codes of concurrent tasks"

  assert_wait 30 "all shims of this containerd exit" no_shims_left
  assert_empty "$(e2e_zombies)" "zombies parented by containerd/shims"
  local leftover=""
  for ((i = 1; i <= n; i++)); do
    [[ ! -e $SHIM_SOCK_DIR/$(shim_sock_name "${ids[i]}") ]] || leftover+="${ids[i]} "
  done
  assert_empty "$leftover" "shim sockets left in $SHIM_SOCK_DIR for"
  assert_empty "$(new_sockets_of_ours "$before")" "new sockets of ours in $SHIM_SOCK_DIR"
  assert_empty "$(e2e_bundles | tr '\n' ' ')" "bundle dirs left in state dir"
}

# Two tasks with the same group annotation share one shim; the shim exits
# after the last task of the group is deleted.
t_grouping() {
  local a b group shims1 shims2
  a=$(cid grp-a) b=$(cid grp-b) group=g1
  assert_wait 30 "no shims before the test" no_shims_left
  ctr_run -d --annotation "io.containerd.runc.v2.group=$group" -- "$a" sleep 1000
  assert_wait 20 "task a running" task_is "$a" RUNNING
  shims1=$(e2e_shim_pids)
  assert_eq 1 "$(grep -c . <<<"$shims1")" "shim processes after first task ($shims1)"
  ctr_run -d --annotation "io.containerd.runc.v2.group=$group" -- "$b" sleep 1000
  assert_wait 20 "task b running" task_is "$b" RUNNING
  shims2=$(e2e_shim_pids)
  assert_eq "$shims1" "$shims2" "shim pid(s) after second task in the same group"
  assert_wait 5 "group socket exists" test -S "$SHIM_SOCK_DIR/$(shim_sock_name "$group")"

  cleanup_container "$a"
  assert_wait 10 "container a gone" container_absent "$a"
  kill -0 "$shims1" 2>/dev/null || fail "shared shim $shims1 exited while task b still exists"
  assert_eq running "$(task_is "$b" RUNNING && echo running)" "task b still running"

  cleanup_container "$b"
  assert_wait 15 "shared shim exits after the last task is deleted" pid_gone "$shims1"
  assert_wait 10 "no shims left" no_shims_left
  assert_wait 5 "group socket removed" test ! -e "$SHIM_SOCK_DIR/$(shim_sock_name "$group")"
}

# A daemonized grandchild (setsid) must not survive its container.
t_setsid_escapee() {
  local id n
  id=$(cid setsid)
  n=$(unique_sleep)
  ctr_run -d -- "$id" /bin/sh -c "setsid sleep $n & echo started; sleep $n"
  assert_wait 20 "both sleeps running" count_is 2 sleep_procs "$n"
  ctrp task kill -s SIGKILL "$id"
  assert_wait 20 "task stopped" task_is "$id" STOPPED
  ctrp task delete "$id" >/dev/null 2>&1 || true
  ctrp container delete "$id"
  assert_wait 15 "no 'sleep $n' left after delete" no_sleep_procs "$n"
}

# Reaper-specific: the command runs on the host, so it sees host paths
# without any mount.
# The task runs the host's programs and reads host files, but what it writes lands in the
# overlay group of its containerd namespace: the host never sees it, the next task does.
t_runs_on_host() {
  is_reaper || skip "reaper-specific (runc runs inside the image rootfs)"
  local seen=$E2E_DIR/data/from-host f=$E2E_DIR/data/written-by-task
  echo from-host-$$ >"$seen"
  assert_eq from-host-$$ "$(ctr_run --rm -- "$(cid host1)" /bin/cat "$seen")" "task reads a host file"
  ctr_run --rm -- "$(cid host2)" /bin/sh -c "echo on-overlay > $f"
  assert_eq "" "$(cat "$f" 2>/dev/null)" "file written by the task must not reach the host"
  assert_eq on-overlay "$(ctr_run --rm -- "$(cid host3)" /bin/cat "$f")" "next task of the group sees it"
}

t_bad_kill_unknown() {
  local out rc=0
  out=$(ctrp task kill no-such-id 2>&1) || rc=$?
  assert_ne 0 "$rc" "ctr task kill no-such-id exit code"
  assert_contains "$out" "not found" "kill of unknown id"
}

t_bad_duplicate_id() {
  local id out rc=0
  id=$(cid dup)
  ctr_run -d -- "$id" sleep 1000
  assert_wait 20 "task running" task_is "$id" RUNNING
  out=$(ctr_run -d -- "$id" sleep 1000 2>&1) || rc=$?
  assert_ne 0 "$rc" "second run with the same id"
  assert_contains "$out" "already exists" "duplicate id"
  # duplicate exec id is checked by the shim itself
  ctrp task exec -d --exec-id dupe "$id" sleep 1000
  rc=0
  out=$(ctrp task exec -d --exec-id dupe "$id" sleep 1000 2>&1) || rc=$?
  assert_ne 0 "$rc" "second exec with the same exec id"
  assert_contains "$out" "already exists" "duplicate exec id"
  cleanup_container "$id"
}

t_bad_missing_binary() {
  local out rc=0
  out=$(ctr_run --rm -- "$(cid nobin)" /nonexistent/reaper-e2e-binary 2>&1) || rc=$?
  assert_ne 0 "$rc" "running a missing binary"
  assert_contains "$out" "/nonexistent/reaper-e2e-binary" "error names the missing binary"
  assert_wait 10 "container removed" container_absent "$(cid nobin)"

  # same for an exec process
  local id
  id=$(cid nobin-exec)
  ctr_run -d -- "$id" sleep 1000
  assert_wait 20 "task running" task_is "$id" RUNNING
  rc=0
  out=$(ctrp task exec --exec-id x1 "$id" /nonexistent/reaper-e2e-exec 2>&1) || rc=$?
  assert_ne 0 "$rc" "exec of a missing binary"
  assert_contains "$out" "/nonexistent/reaper-e2e-exec" "exec error names the missing binary"
  assert_eq RUNNING "$(task_status "$id")" "task still running after the failed exec"
  cleanup_container "$id"
}

# ctr parses --config itself (and rejects broken JSON before containerd sees
# it), and the bundle's config.json only exists once containerd creates the
# task. So the runtime is given as an absolute path to a wrapper that
# corrupts <bundle>/config.json (its cwd) and then execs the real shim.
t_bad_config_json() {
  local wrapper shim out rc=0
  shim="containerd-shim-$(echo "$RUNTIME" | awk -F. '{ print $(NF-1) "-" $NF }')"
  wrapper=$E2E_DIR/data/corrupting-shim
  cat >"$wrapper" <<EOF
#!/bin/sh
for a; do last=\$a; done
if [ "\$last" = start ]; then printf '{"ociVersion": broken' > config.json; fi
exec $shim "\$@"
EOF
  chmod +x "$wrapper"
  out=$(RUNTIME=$wrapper ctr_run --rm -- "$(cid badjson)" /bin/sh -c 'echo hi' 2>&1) || rc=$?
  assert_ne 0 "$rc" "task with a malformed config.json"
  assert_match "$out" 'json|invalid character|parse|syntax' "error names the JSON problem"
  assert_wait 10 "container removed" container_absent "$(cid badjson)"
  assert_wait 10 "no shims left" no_shims_left
  assert_empty "$(e2e_bundles | tr '\n' ' ')" "bundle dirs left in state dir"
}

register_test echo t_echo
register_test exit_code t_exit_code
register_test env t_env
register_test cwd t_cwd
register_test stdin_1mib t_stdin_1mib
register_test stdout_20mb t_stdout_20mb
register_test sigterm_143 t_sigterm_143
register_test sigkill_137 t_sigkill_137
register_test exec_and_ps t_exec_and_ps
register_test events t_events
register_test concurrent_30 t_concurrent_30
register_test grouping t_grouping
register_test setsid_escapee t_setsid_escapee
register_test runs_on_host t_runs_on_host
register_test bad_kill_unknown t_bad_kill_unknown
register_test bad_duplicate_id t_bad_duplicate_id
register_test bad_missing_binary t_bad_missing_binary
register_test bad_config_json t_bad_config_json
