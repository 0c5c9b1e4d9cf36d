# shellcheck shell=bash
# Interactive streaming through CRI: `reaperctl exec -it` and `reaperctl attach` (WebSocket,
# v4.channel.k8s.io), driven through a real pseudo-terminal: a private tmux server
# (socket in the run's temp dir, killed by PID-free `kill-server` on that socket only).

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

tmuxp() { tmux -S "$E2E_DIR/tmux.sock" "$@"; }

# A shell command line that runs reaperctl the way rctl does (--foreground: timeout must not
# move reaperctl out of the terminal's foreground process group).
rctl_cmdline() {
  printf '%q ' timeout --foreground -k 5 "$CRI_RPC_TIMEOUT" "$REAPERCTL" --runtime-endpoint "unix://$E2E_ADDR" \
    --default-image "$E2E_IMAGE" --log-root "$E2E_DIR/pod-logs" --root "$E2E_DIR/reaperctl" -q "$@"
}

# pane_line <session> <text>: the pane shows a line that is exactly <text>.
pane_line() { tmuxp capture-pane -p -t "$1" 2>/dev/null | sed 's/[[:space:]]*$//' | grep -qxF -- "$2"; }
pane_has() { tmuxp capture-pane -p -t "$1" 2>/dev/null | grep -qF -- "$2"; }

# type_until <session> <deadline> <keys> <line>: types keys + Enter, then waits up to 2 s for
# the line; repeats until the deadline (a resize may take a moment to reach the remote pty).
type_until() {
  local s=$1 deadline=$2 keys=$3 want=$4 end
  end=$(( $(date +%s) + deadline ))
  while (( $(date +%s) < end )); do
    tmuxp send-keys -t "$s" "$keys" Enter
    if wait_until 2 pane_line "$s" "$want"; then return 0; fi
  done
  return 1
}

tmux_cleanup() { tmuxp kill-server >/dev/null 2>&1 || true; }

t_exec_tty() {
  local pod f rcfile=$E2E_DIR/data/exec-tty.rc
  command -v tmux >/dev/null || skip "tmux not installed"
  pod=$(pod_name exectty) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  trap tmux_cleanup EXIT
  write_pod "$f" "$pod" Never "$(container_yaml main "exec sleep 1000")"
  rctl run -d -f "$f" >/dev/null
  tmuxp new-session -d -s ex -x 100 -y 30 \
    "$(rctl_cmdline exec -it "$pod" -- /bin/sh); echo rc=\$? >$rcfile"
  # shellcheck disable=SC2016 # expanded by the remote shell
  type_until ex 20 'echo tty-$((6*7))' "tty-42" || fail "no answer from the remote shell"
  type_until ex 10 'tty | sed s,/dev/pts/[0-9]*,PTS,' "PTS" || fail "remote shell has no pty"
  type_until ex 10 'stty size' "30 100" || fail "initial terminal size not applied"
  tmuxp resize-window -t ex -x 120 -y 40
  type_until ex 10 'stty size' "40 120" || fail "resize (SIGWINCH -> channel 4) not applied"
  tmuxp send-keys -t ex 'exit 7' Enter
  assert_wait 10 "exec -it ended" test -s "$rcfile"
  assert_eq "rc=7" "$(cat "$rcfile")" "exit status of reaperctl exec -it"
  rctl rm -f "$pod"
}

t_attach_tty() {
  local pod f rcfile=$E2E_DIR/data/attach-tty.rc
  command -v tmux >/dev/null || skip "tmux not installed"
  pod=$(pod_name attachtty) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  trap tmux_cleanup EXIT
  write_pod "$f" "$pod" Never "$(container_yaml main "exec /bin/sh")"
  printf '    tty: true\n    stdin: true\n' >>"$f"
  rctl run -d -f "$f" >/dev/null
  assert_wait 20 "container running" container_state_is "$pod" main Running
  tmuxp new-session -d -s at -x 90 -y 25 "$(rctl_cmdline attach -it "$pod"); echo rc=\$? >$rcfile"
  # shellcheck disable=SC2016 # expanded by the remote shell
  type_until at 20 'echo attached-$((6*7))' "attached-42" || fail "no answer through attach"
  type_until at 10 'stty size' "25 90" || fail "attach: terminal size not applied"
  tmuxp send-keys -t at 'exit 5' Enter
  assert_wait 15 "container exited" container_state_is "$pod" main Exited
  assert_eq 5 "$(inspect_field "$pod" main exit)" "exit code of the attached shell"
  assert_wait 10 "attach ended" test -s "$rcfile"
  assert_contains "$(rctl logs "$pod")" "attached-42" "the tty session is in the container log"
  rctl rm -f "$pod"
}

# Attach without a terminal: stdin reaches the container, its output comes back.
t_attach_stdin() {
  local pod f out
  pod=$(pod_name attachin) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  # shellcheck disable=SC2016 # expanded by the container's shell
  write_pod "$f" "$pod" Never "$(container_yaml main 'read l; echo got:$l; echo bye >&2; exit 6')"
  printf '    stdin: true\n' >>"$f"
  rctl run -d -f "$f" >/dev/null
  assert_wait 20 "container running" container_state_is "$pod" main Running
  out=$(printf 'via-attach\n' | rctl attach -i "$pod" 2>&1)
  # containerd's CRI starts copying attach stdin before it adds the attach stdout writer, so
  # an immediate answer can miss the attached client (it is in the log); and under load the
  # stream can end with the container before its last line is forwarded (seen once on 2.2).
  # At least one of the two lines must come back through the attach.
  [[ $out == *bye* || $out == *got:via-attach* ]] || fail "no output of the attached container came back: '$out'"
  assert_contains "$(rctl logs "$pod")" "got:via-attach" "the line typed through attach reached the container"
  assert_wait 10 "container exited" container_state_is "$pod" main Exited
  assert_eq 6 "$(inspect_field "$pod" main exit)" "exit code"
  rctl rm -f "$pod"
}

register_test exec_tty t_exec_tty
register_test attach_tty t_attach_tty
register_test attach_stdin t_attach_stdin
