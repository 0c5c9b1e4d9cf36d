# shellcheck shell=bash
# What users type: `kubectl run -it`, `kubectl exec -it` / non-tty exec, `kubectl attach -it`,
# `kubectl cp` both ways, `kubectl port-forward`. Terminals are real: a private tmux server
# (socket in the run's temp dir, its server killed through that socket only).

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

tmuxk() { tmux -S "$E2E_DIR/tmux.sock" "$@"; }
tmuxk_cleanup() { tmuxk kill-server >/dev/null 2>&1 || true; }
kpane_line() { tmuxk capture-pane -p -t "$1" 2>/dev/null | sed 's/[[:space:]]*$//' | grep -qxF -- "$2"; }

# ktype_until SESSION DEADLINE KEYS LINE: types KEYS + Enter, waits up to 3 s for LINE, repeats
# until the deadline (the remote terminal may not be attached yet the first time).
ktype_until() {
  local s=$1 deadline=$2 keys=$3 want=$4 end
  end=$(( $(date +%s) + deadline ))
  while (( $(date +%s) < end )); do
    tmuxk send-keys -t "$s" "$keys" Enter
    if wait_until 3 kpane_line "$s" "$want"; then return 0; fi
  done
  tmuxk capture-pane -p -t "$s" | tail -n 15 | sed 's/^/    pane: /' >&2
  return 1
}

# The kubectl command line for a tmux pane (timeout --foreground keeps kubectl in the
# terminal's foreground process group).
kc_cmdline() {
  printf '%q ' timeout --foreground -k 5 300 "$K8S_KUBECTL" --kubeconfig "$E2E_DIR/pki/admin.kubeconfig" -n "$K8S_NS" "$@"
}

k8s_pod_absent() { ! kcn get pod "$1" >/dev/null 2>&1; }

# kubectl run -it --rm with Reaper selected through --overrides.
t_run_it() {
  local rcfile=$E2E_DIR/data/run-it.rc pod=runit
  command -v tmux >/dev/null || skip "tmux not installed"
  trap tmuxk_cleanup EXIT
  track "$pod"
  tmuxk new-session -d -s run -x 100 -y 30 \
    "$(kc_cmdline run "$pod" -it --rm --restart=Never --image="$E2E_IMAGE" --env="E2E_MARK=$E2E_DIR" \
      --overrides='{"spec":{"runtimeClassName":"reaper-v2","hostNetwork":true}}' -- /bin/sh); echo rc=\$? >$rcfile"
  # shellcheck disable=SC2016 # expanded by the remote shell
  ktype_until run 90 'echo run-$((6*7))' run-42 || fail "no answer from the kubectl run shell"
  assert_eq reaper-v2 "$(k8s_jp "pod/$pod" '{.spec.runtimeClassName}')" "runtime class from --overrides"
  ktype_until run 10 'stty size' "30 100" || fail "terminal size not passed"
  ktype_until run 10 'cat /proc/1/comm' "$(cat /proc/1/comm)" || fail "the shell does not see the host's pid 1"
  tmuxk send-keys -t run 'exit 3' Enter
  assert_wait 60 "kubectl run ended" test -s "$rcfile"
  assert_eq rc=3 "$(cat "$rcfile")" "exit code of kubectl run -it"
  assert_wait 60 "--rm deleted the pod" k8s_pod_absent "$pod"
}

# kubectl exec -it: the client's terminal size (and a resize), Ctrl-C reaches the remote
# foreground process, the exit code comes back.
t_exec_it() {
  local rcfile=$E2E_DIR/data/exec-it.rc pod=execit
  command -v tmux >/dev/null || skip "tmux not installed"
  trap tmuxk_cleanup EXIT
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main 'exec sleep 100000')")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  tmuxk new-session -d -s ex -x 100 -y 30 "$(kc_cmdline exec -it "$pod" -- /bin/sh); echo rc=\$? >$rcfile"
  # shellcheck disable=SC2016
  ktype_until ex 60 'echo exec-$((6*7))' exec-42 || fail "no answer from kubectl exec -it"
  ktype_until ex 10 'tty | sed s,/dev/pts/[0-9]*,PTS,' PTS || fail "no pty in the exec"
  ktype_until ex 10 'stty size' "30 100" || fail "initial terminal size"
  tmuxk resize-window -t ex -x 120 -y 40
  ktype_until ex 20 'stty size' "40 120" || fail "terminal resize not passed"
  tmuxk send-keys -t ex "sleep 1000" Enter
  assert_wait 20 "sleep 1000 runs in the exec" k8s_marked_cmd_running "sleep 1000"
  tmuxk send-keys -t ex C-c
  k8s_sleep_gone() { ! k8s_marked_cmd_running "sleep 1000"; }
  assert_wait 20 "Ctrl-C ended the remote sleep" k8s_sleep_gone
  # shellcheck disable=SC2016
  tmuxk send-keys -t ex 'echo status-$?' Enter
  assert_wait 20 "the shell got the sleep's SIGINT status" kpane_line ex status-130
  tmuxk send-keys -t ex 'exit 7' Enter
  assert_wait 30 "kubectl exec -it ended" test -s "$rcfile"
  assert_eq rc=7 "$(cat "$rcfile")" "exit code of kubectl exec -it"
  k8s_delete_pod "$pod"
}

# Non-tty exec: exit codes, stdout and stderr apart, stdin (1 MiB, byte count).
t_exec_nontty() {
  local pod=execn out err rc
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main 'exec sleep 100000')")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  rc=0; kcn exec "$pod" -- sh -c 'exit 5' || rc=$?
  assert_eq 5 "$rc" "exit code of kubectl exec"
  rc=0; kcn exec "$pod" -- /no/such/program >/dev/null 2>&1 || rc=$?
  assert_ne 0 "$rc" "exec of a missing program fails"
  out=$(kcn exec "$pod" -- sh -c 'echo to-out; echo to-err >&2' 2>"$E2E_DIR/data/exec.err")
  err=$(cat "$E2E_DIR/data/exec.err")
  assert_eq to-out "$out" "stdout of exec"
  assert_eq to-err "$err" "stderr of exec"
  out=$(printf 'line-a\nline-b\n' | kcn exec -i "$pod" -- sh -c 'cat; echo eof-seen')
  assert_eq $'line-a\nline-b\neof-seen' "$out" "stdin reaches the exec and ends"
  out=$(head -c 1048576 /dev/zero | kcn exec -i "$pod" -- wc -c)
  assert_eq 1048576 "$(echo "$out" | tr -d ' ')" "bytes through exec stdin"
  assert_eq "$(id -u nobody)" "$(kcn exec "$pod" -- id -u nobody)" "the host's user database"
  k8s_delete_pod "$pod"
}

# kubectl attach -it to a container started with a terminal.
t_attach_it() {
  local rcfile=$E2E_DIR/data/attach-it.rc pod=attachit
  command -v tmux >/dev/null || skip "tmux not installed"
  trap tmuxk_cleanup EXIT
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main 'exec /bin/sh' '    stdin: true
    tty: true')")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  tmuxk new-session -d -s at -x 90 -y 25 "$(kc_cmdline attach -it "$pod"); echo rc=\$? >$rcfile"
  # shellcheck disable=SC2016
  ktype_until at 60 'echo attach-$((6*7))' attach-42 || fail "no answer through kubectl attach -it"
  ktype_until at 20 'stty size' "25 90" || fail "attach: terminal size"
  tmuxk send-keys -t at 'exit 4' Enter
  k8s_wait_phase "$pod" Failed 60
  assert_eq 4 "$(k8s_cstatus "$pod" main state.terminated.exitCode)" "exit code of the attached shell"
  assert_wait 30 "kubectl attach ended" test -s "$rcfile"
  assert_contains "$(kcn logs "$pod")" attach-42 "the session is in the container log"
  k8s_delete_pod "$pod"
}

# kubectl cp into the pod and back; what the pod writes outside volumes stays in its overlay.
t_cp_both_ways() {
  local pod=cp src=$E2E_DIR/data/cp-src dst=$E2E_DIR/data/cp-back inpod=/tmp/reaper-k8s-$E2E_RUNID-cp
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main 'exec sleep 100000')")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  head -c 200000 /dev/urandom >"$src"
  kcn cp "$src" "$pod:$inpod" >/dev/null
  assert_eq "$(sha256sum <"$src" | cut -d' ' -f1)" "$(kcn exec "$pod" -- sh -c "sha256sum <$inpod" | cut -d' ' -f1)" \
    "the file copied into the pod"
  [[ ! -e $inpod ]] || fail "kubectl cp into a Reaper pod wrote $inpod on the host (overlay)"
  kcn exec "$pod" -- sh -c "head -c 100000 /dev/urandom >$inpod.out"
  kcn cp "$pod:$inpod.out" "$dst" >/dev/null
  assert_eq "$(kcn exec "$pod" -- sh -c "sha256sum <$inpod.out" | cut -d' ' -f1)" "$(sha256sum <"$dst" | cut -d' ' -f1)" \
    "the file copied out of the pod"
  assert_eq 100000 "$(stat -c %s "$dst")" "size of the copied file"
  k8s_delete_pod "$pod"
}

# kubectl port-forward to a server the pod runs on the host network.
t_port_forward() {
  local pod=pf port local_port out pid www=/tmp/reaper-k8s-$E2E_RUNID-www
  read -r port local_port <<<"$(k8s_ports 2)"
  track "$pod"
  k8s_apply "$(k8s_pod_yaml "$pod" Never "$(k8s_container main \
    "mkdir -p $www && echo served-by-$pod >$www/index.html && exec busybox httpd -f -p 127.0.0.1:$port -h $www")")"
  kcn wait --for=condition=Ready "pod/$pod" --timeout=90s >/dev/null
  wait_until 30 curl -fsS --max-time 2 "http://127.0.0.1:$port/" >/dev/null || fail "the pod's server does not answer"
  kcn port-forward "pod/$pod" "$local_port:$port" >"$E2E_DIR/data/pf.log" 2>&1 &
  pid=$!
  assert_wait 60 "port-forward listening" grep -q "Forwarding from 127.0.0.1:$local_port" "$E2E_DIR/data/pf.log"
  out=$(curl -fsS --max-time 10 "http://127.0.0.1:$local_port/index.html") || { kill "$pid"; fail "curl through port-forward failed"; }
  assert_eq "served-by-$pod" "$out" "answer through kubectl port-forward"
  out=$(curl -fsS --max-time 10 "http://127.0.0.1:$local_port/index.html") || { kill "$pid"; fail "second request failed"; }
  assert_eq "served-by-$pod" "$out" "second answer through kubectl port-forward"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [[ ! -e $www ]] || fail "the pod's files appeared on the host"
  k8s_delete_pod "$pod"
}

register_test run_it t_run_it
register_test exec_it t_exec_it
register_test exec_nontty t_exec_nontty
register_test attach_it t_attach_it
register_test cp_both_ways t_cp_both_ways
register_test port_forward t_port_forward
