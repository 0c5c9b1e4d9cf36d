# shellcheck shell=bash
# Pod semantics through containerd's CRI plugin, driven by reaperctl (the kubelet stand-in).
# Sourced by run.sh (which provides lib.sh, the private containerd with CRI and the image).
#
# Container commands run in the NODE's /bin/sh (dash): POSIX sh only.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

ppid_of() { awk '{ print $4 }' "/proc/$1/stat" 2>/dev/null; }


# Lines "<stream> <text>" of a CRI log file ("<RFC3339Nano> <stream> F <text>" records);
# a malformed record is printed as "MALFORMED: <record>".
log_streams() {
  local line re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}) (stdout|stderr) F (.*)$'
  while IFS= read -r line; do
    if [[ $line =~ $re ]]; then
      echo "${BASH_REMATCH[3]} ${BASH_REMATCH[4]}"
    else
      echo "MALFORMED: $line"
    fi
  done <"$1"
}

both_running() { container_state_is "$1" c0 Running && container_state_is "$1" c1 Running; }

# ---------------------------------------------------------------------------

t_hello_example() {
  local out err=$E2E_DIR/data/hello.err rc=0
  track hello
  out=$(rctl run --rm --timeout 60 -f "$REPO/examples/hello.yaml" 2>"$err") || rc=$?
  cat "$err"
  assert_eq 0 "$rc" "exit status of reaperctl run examples/hello.yaml"
  assert_contains "$out" "Hello from host" "output of the example pod"
  assert_contains "$out" "$(uname -n)" "uname -a ran on the host"
  assert_contains "$(cat "$err")" "container hello: exited with code 0" "progress on stderr"
  assert_empty "$(rctl ps | awk '$2 == "hello"')" "pod left after run --rm"
}

# One init container and two containers: init first, one shim, exit codes 0 and 3, and the
# stdout/stderr lines in the CRI log files in order.
t_init_then_two_containers() {
  local pod gate f out err runpid shims shim c0pid c1pid sbpid
  pod=$(pod_name multi)
  gate=$E2E_DIR/data/$pod.go f=$E2E_DIR/data/$pod.yaml
  out=$E2E_DIR/data/$pod.out err=$E2E_DIR/data/$pod.err
  track "$pod"
  # The workload paces its writes so that lines of the two streams reach the log in order.
  write_pod "$f" "$pod" Never \
    "$(container_yaml c0 "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; echo err2 >&2; while [ ! -e $gate ]; do sleep 0.05; done; exit 0")
$(container_yaml c1 "echo c1-out; sleep 0.2; echo c1-err >&2; while [ ! -e $gate ]; do sleep 0.05; done; exit 3")" \
    "$(container_yaml init "echo init-out; sleep 0.2; echo init-err >&2")"
  { local rc=0; rctl run --timeout 60 -f "$f" >"$out" 2>"$err" || rc=$?; echo "$rc" >"$out.rc"; } &
  runpid=$!
  assert_wait 30 "both containers running" both_running "$pod"

  # One shim serves the whole pod: it is the parent of the sandbox and of both containers.
  shims=$(e2e_shim_pids)
  assert_eq 1 "$(wc -w <<<"$shims")" "shim processes of this containerd (pids: $shims)"
  shim=$shims
  sbpid=$(inspect_field "$pod" pod pid)
  c0pid=$(inspect_field "$pod" c0 pid)
  c1pid=$(inspect_field "$pod" c1 pid)
  assert_eq "$shim" "$(ppid_of "$sbpid")" "parent of the sandbox placeholder $sbpid"
  assert_eq "$shim" "$(ppid_of "$c0pid")" "parent of container c0 ($c0pid)"
  assert_eq "$shim" "$(ppid_of "$c1pid")" "parent of container c1 ($c1pid)"

  touch "$gate"
  assert_wait 30 "reaperctl run finished" test -s "$out.rc"
  wait "$runpid"
  cat "$err"
  assert_eq 3 "$(cat "$out.rc")" "reaperctl run exit status (first non-zero container exit code)"

  # Init finished before either container started.
  local init_done c0_start c1_start
  init_done=$(inspect_field "$pod" init finished)
  c0_start=$(inspect_field "$pod" c0 started)
  c1_start=$(inspect_field "$pod" c1 started)
  (( init_done > 0 && init_done <= c0_start && init_done <= c1_start )) ||
    fail "init finished at $init_done, containers started at $c0_start and $c1_start"
  assert_eq 0 "$(inspect_field "$pod" init exit)" "init exit code"
  assert_eq 0 "$(inspect_field "$pod" c0 exit)" "c0 exit code"
  assert_eq Completed "$(inspect_field "$pod" c0 reason)" "c0 reason"
  assert_eq 3 "$(inspect_field "$pod" c1 exit)" "c1 exit code"
  assert_eq Error "$(inspect_field "$pod" c1 reason)" "c1 reason"

  # CRI log files: "<RFC3339Nano> <stream> F <text>", in the order written.
  assert_eq "stdout out1
stderr err1
stdout out2
stderr err2" "$(log_streams "$(inspect_field "$pod" c0 log)")" "CRI log of c0"
  assert_eq "stdout c1-out
stderr c1-err" "$(log_streams "$(inspect_field "$pod" c1 log)")" "CRI log of c1"
  assert_eq "stdout init-out
stderr init-err" "$(log_streams "$(inspect_field "$pod" init log)")" "CRI log of init"

  # reaperctl printed each container's log and its exit code.
  assert_contains "$(cat "$out")" "init-out" "run output"
  assert_contains "$(cat "$out")" "c1-err" "run output"
  assert_contains "$(cat "$err")" "container c1: exited with code 3" "run progress"
  assert_eq "out1
err1
out2
err2" "$(rctl logs "$pod" -c c0)" "reaperctl logs c0"
  rctl rm -f "$pod"
}

t_exec_sync() {
  local pod f out rc t0 ms long
  pod=$(pod_name execsync) f=$E2E_DIR/data/$pod.yaml
  long=10.$(( (RANDOM << 8) + ($$ & 255) ))  # ~10 s, unique so it can be found by pgrep
  track "$pod"
  write_pod "$f" "$pod" Never "$(container_yaml main "exec sleep 1000")"
  rctl run -d -f "$f" >/dev/null
  out=$(rctl exec "$pod" -- echo hi)
  assert_eq hi "$out" "ExecSync echo hi: stdout"
  rc=0
  rctl exec "$pod" -- sh -c 'exit 3' || rc=$?
  assert_eq 3 "$rc" "ExecSync sh -c 'exit 3'"
  rc=0
  t0=$(now_ms)
  rctl exec --timeout 2 "$pod" -- sleep "$long" 2>"$E2E_DIR/data/$pod.timeout" || rc=$?
  ms=$(( $(now_ms) - t0 ))
  cat "$E2E_DIR/data/$pod.timeout"
  assert_eq 124 "$rc" "ExecSync with a 2 s timeout: reaperctl's timeout status"
  (( ms >= 1800 && ms < 5000 )) || fail "ExecSync sleep with a 2 s timeout returned after $ms ms"
  assert_wait 5 "timed-out exec process killed" no_sleep_procs "$long"
  rctl rm -f "$pod"
}

no_sleep_procs() { ! pgrep -f "^(/bin/|/usr/bin/)?sleep $1\$" >/dev/null; }

# Streaming exec without a terminal (CRI Exec URL over WebSocket, v4.channel.k8s.io).
t_exec_stream() {
  local pod f out err rc=0
  pod=$(pod_name execws) f=$E2E_DIR/data/$pod.yaml err=$E2E_DIR/data/$pod.err
  track "$pod"
  write_pod "$f" "$pod" Never "$(container_yaml main "exec sleep 1000")"
  rctl run -d -f "$f" >/dev/null
  # shellcheck disable=SC2016 # expanded by the remote shell
  out=$(printf 'line-in\n' | rctl exec -i "$pod" -- sh -c 'read l; echo "got:$l"; echo to-err >&2; exit 4' 2>"$err") || rc=$?
  assert_eq 4 "$rc" "streaming exec exit code"
  assert_eq "got:line-in" "$out" "streaming exec stdout"
  assert_contains "$(cat "$err")" "to-err" "streaming exec stderr"
  # The audit line names the pod (CRI annotations), as well as argv, user and terminal.
  assert_contains "$(grep "msg=exec " "$E2E_DIR/containerd.log")" \
    "namespace=default pod=$pod container=main argv=\"sh -c" "exec audit line names the pod"
  rctl rm -f "$pod"
}

t_stop_grace() {
  local pod f t0 ms
  pod=$(pod_name stop) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  write_pod "$f" "$pod" Never \
    "$(container_yaml c0 "trap '' TERM; while :; do sleep 1; done")
$(container_yaml c1 "trap 'exit 0' TERM; while :; do sleep 0.1; done")"
  rctl run -d -f "$f" >/dev/null
  assert_wait 30 "both containers running" both_running "$pod"
  t0=$(now_ms)
  rctl stop --timeout 2 "$pod" -c c0
  ms=$(( $(now_ms) - t0 ))
  assert_eq 137 "$(inspect_field "$pod" c0 exit)" "exit code of a SIGTERM-ignoring container"
  (( ms >= 1800 && ms < 5000 )) || fail "StopContainer(grace 2 s) of a SIGTERM-ignoring process took $ms ms"
  t0=$(now_ms)
  rctl stop --timeout 2 "$pod" -c c1
  ms=$(( $(now_ms) - t0 ))
  assert_eq 0 "$(inspect_field "$pod" c1 exit)" "exit code of a container trapping SIGTERM"
  (( ms < 1800 )) || fail "StopContainer of a SIGTERM-trapping process took $ms ms"
  rctl rm -f "$pod"
}

# After StopPodSandbox + RemovePodSandbox nothing of the pod is left.
t_teardown_leaves_nothing() {
  local pod f sb c0 c1 shim c0pid c1pid addr sock cg logdir marker state root p
  pod=$(pod_name teardown) f=$E2E_DIR/data/$pod.yaml
  marker="POD_MARK=$pod"
  track "$pod"
  write_pod "$f" "$pod" Always \
    "$(container_yaml c0 "sleep 1000 & sleep 1001")
$(container_yaml c1 "exec sleep 1002")"
  sed -i "s|env: \[{name: E2E_MARK|env: [{name: POD_MARK, value: $pod}, {name: E2E_MARK|" "$f"
  rctl run -d -f "$f" >/dev/null
  assert_wait 30 "both containers running" both_running "$pod"
  sb=$(inspect_field "$pod" pod id)
  c0=$(inspect_field "$pod" c0 id)
  c1=$(inspect_field "$pod" c1 id)
  c0pid=$(inspect_field "$pod" c0 pid)
  c1pid=$(inspect_field "$pod" c1 pid)
  shim=$(ppid_of "$c0pid")
  state=$E2E_STATE root=$E2E_DIR/root
  addr=$(cat "$state/io.containerd.runtime.v2.task/k8s.io/$sb/address")
  sock=${addr#unix://}
  logdir=$(dirname "$(dirname "$(inspect_field "$pod" c0 log)")")
  cg=$(cgroup2_root)/reaper/k8s.io
  [[ -S $sock ]] || fail "shim socket $sock missing while the pod runs"
  [[ -n $(marked_pids "$marker") ]] || fail "no workload process found by marker"
  [[ -d $logdir ]] || fail "no log dir $logdir"

  rctl rm -f "$pod"

  assert_wait 10 "shim $shim gone" pid_gone "$shim"
  assert_wait 10 "workload processes gone" no_marked_pids "$marker"
  pid_gone "$c0pid" || fail "container process $c0pid still alive"
  pid_gone "$c1pid" || fail "container process $c1pid still alive"
  assert_empty "$(grep -E "$sb|$c0|$c1" /proc/self/mountinfo)" "mounts of the pod"
  for p in "$state/io.containerd.runtime.v2.task/k8s.io/$sb" \
           "$state/io.containerd.runtime.v2.task/k8s.io/$c0" \
           "$state/io.containerd.runtime.v2.task/k8s.io/$c1" \
           "$state/io.containerd.grpc.v1.cri/sandboxes/$sb" \
           "$state/io.containerd.grpc.v1.cri/containers/$c0" \
           "$state/io.containerd.grpc.v1.cri/containers/$c1" \
           "$root/io.containerd.grpc.v1.cri/sandboxes/$sb" \
           "$root/io.containerd.grpc.v1.cri/containers/$c0" \
           "$root/io.containerd.grpc.v1.cri/containers/$c1" \
           "$cg/$sb" "$cg/$c0" "$cg/$c1" "$sock" "$logdir"; do
    [[ ! -e $p ]] || fail "left behind: $p"
  done
  assert_empty "$(rctl ps | awk -v n="$pod" '$2 == n')" "pod still listed"
}

marked_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$$" || $p == "${BASHPID:-}" ]] && continue
    proc_has "$p" environ "$1" && echo "$p"
  done
  return 0
}
no_marked_pids() { [[ -z $(marked_pids "$1") ]]; }

# restartPolicy OnFailure: the failed container runs again (attempt 1) in the same sandbox.
t_restart_on_failure() {
  local pod f flag rc=0 out
  pod=$(pod_name restart) f=$E2E_DIR/data/$pod.yaml flag=$E2E_DIR/data/$pod.flag
  track "$pod"
  write_pod "$f" "$pod" OnFailure \
    "$(container_yaml main "if [ -e $flag ]; then echo second; exit 0; fi; touch $flag; echo first; exit 1")"
  out=$(rctl run --timeout 60 -f "$f" 2>"$E2E_DIR/data/$pod.err") || rc=$?
  cat "$E2E_DIR/data/$pod.err"
  assert_eq 0 "$rc" "exit status after the restart"
  assert_eq "first
second" "$out" "logs of both attempts"
  assert_eq 1 "$(inspect_field "$pod" main attempt)" "attempt of the restarted container"
  assert_eq 1 "$(rctl inspect "$pod" | grep -c '^pod ')" "sandboxes of the pod"
  assert_eq "1 0" "$(rctl inspect "$pod" | awk '$1 == "container" { for (i = 2; i <= NF; i++) if ($i ~ /^exit=/) printf "%s%s", (n++ ? " " : ""), substr($i, 6) }')" \
    "exit codes of attempts 0 and 1"
  rctl rm -f "$pod"
}

t_update_and_stats() {
  local pod f
  pod=$(pod_name stats) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  write_pod "$f" "$pod" Never "$(container_yaml main "exec sleep 1000")"
  rctl run -d -f "$f" >/dev/null
  assert_wait 30 "container running" container_state_is "$pod" main Running
  rctl update "$pod" --cpu-shares 512 --memory 100000000
  assert_contains "$(rctl stats "$pod")" " main " "ListContainerStats lists the container"
  rctl rm -f "$pod"
}

t_clear_errors() {
  local f=$E2E_DIR/data/errors.yaml out rc
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers:\n  - name: c\n    ports: [{containerPort: 80}]\n' >"$f"
  rc=0; out=$(rctl run -f "$f" 2>&1) || rc=$?
  assert_eq 2 "$rc" "unknown field: exit status"
  assert_contains "$out" "spec.containers[0].ports: unknown field" "unknown field message"

  write_pod "$f" "$(pod_name badhandler)" Never "$(container_yaml c "true")"
  sed -i "s/runtimeClassName: .*/runtimeClassName: no-such-handler/" "$f"
  track "$(pod_name badhandler)"
  rc=0; out=$(rctl run -f "$f" 2>&1) || rc=$?
  assert_eq 125 "$rc" "unknown handler: exit status"
  assert_contains "$out" "no-such-handler" "unknown handler message"
  assert_contains "$out" "runtimeClassName" "unknown handler hint"

  write_pod "$f" "$(pod_name noimage)" Never "$(container_yaml c "true")"
  printf '    image: example.invalid/none:1\n    imagePullPolicy: Never\n' >>"$f"
  rc=0; out=$(rctl run -f "$f" 2>&1) || rc=$?
  assert_eq 125 "$rc" "missing image: exit status"
  assert_contains "$out" "example.invalid/none:1 is not present on the node" "missing image message"

  write_pod "$f" "$(pod_name nohostnet)" Never "$(container_yaml c "true")"
  sed -i "s/hostNetwork: true/hostNetwork: false/" "$f"
  rc=0; out=$(rctl run -f "$f" 2>&1) || rc=$?
  assert_eq 125 "$rc" "pod network not ready: exit status"
  assert_contains "$out" "set spec.hostNetwork: true" "pod network hint"
  assert_empty "$(rctl ps | awk -v a="$(pod_name badhandler)" -v b="$(pod_name noimage)" -v c="$(pod_name nohostnet)" '$2 == a || $2 == b || $2 == c')" \
    "pods left by failed runs"
}

register_test hello_example t_hello_example
register_test init_then_two_containers t_init_then_two_containers
register_test exec_sync t_exec_sync
register_test exec_stream t_exec_stream
register_test stop_grace t_stop_grace
register_test teardown_leaves_nothing t_teardown_leaves_nothing
register_test restart_on_failure t_restart_on_failure
register_test update_and_stats t_update_and_stats
register_test clear_errors t_clear_errors
