# shellcheck shell=bash
# One test per failure the first installer had (issue "An installer that cannot break a node").
# Each of these failed with that installer (INSTALL_NODE=<old script> tests/install/run.sh
# 'regress_.*' shows it; docs/testing.md lists the results).

# A config that defines runc with dotted keys or an inline table: the first installer did not
# see that runc, appended a second runc table, and containerd could no longer load the file.
regress_runc_forms() {
  local r cfg out form dump
  for form in dotted inline toplevel_dotted; do
    r=$(new_root)
    mkdir -p "$r/etc/containerd"
    cfg=$r/etc/containerd/config.toml
    case $form in
      dotted) printf '%s\n' 'version = 2' '[plugins."io.containerd.grpc.v1.cri".containerd]' \
          '  default_runtime_name = "runc"' \
          '  runtimes.runc.runtime_type = "io.containerd.runc.v2"' \
          '  runtimes.runc.options.SystemdCgroup = true   # cgroup driver of the kubelet' >"$cfg" ;;
      inline) printf '%s\n' 'version = 2' '# runtimes inline' '[plugins."io.containerd.grpc.v1.cri".containerd]' \
          '  runtimes = { runc = { runtime_type = "io.containerd.runc.v2", options = { SystemdCgroup = true } } }' >"$cfg" ;;
      toplevel_dotted) printf '%s\n' 'version = 2' \
          'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.runtime_type = "io.containerd.runc.v2"' \
          'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options.SystemdCgroup = true' >"$cfg" ;;
    esac
    cp -p "$cfg" "$r.orig"
    out=$(inst "$r" 2>&1) || fail "install ($form) failed: $out"
    dump=$(chroot "$r" /usr/bin/containerd --config /etc/containerd/config.toml config dump 2>&1) ||
      fail "containerd cannot load the installed config ($form): $dump"
    assert_contains "$dump" 'runtimes.reaper-v2]' "reaper-v2 in the dump ($form)"
    assert_contains "$dump" 'SystemdCgroup = true' "runc's options kept ($form)"
    assert_eq 1 "$(grep -c 'runtimes.runc]' <<<"$dump")" "runc tables in the dump ($form)"
    if [[ $form == inline ]]; then   # inserted into the inline table; every other byte stays
      assert_contains "$(cat "$cfg")" '# runtimes inline' "comment kept ($form)"
      assert_contains "$(cat "$cfg")" 'runtimes = { runc = { runtime_type = "io.containerd.runc.v2", options = { SystemdCgroup = true } },' "inline table kept ($form)"
    else
      assert_eq "$(cat "$r.orig")" "$(head -n "$(wc -l <"$r.orig")" "$cfg")" "original text kept ($form)"
    fi
    out=$(inst "$r" 2>&1) || fail "second install ($form) failed: $out"
    assert_contains "$out" "RESULT: unchanged" "second install ($form)"
    out=$(inst "$r" --uninstall 2>&1) || fail "uninstall ($form) failed: $out"
    cmp "$r.orig" "$cfg" || fail "config ($form) not restored byte for byte"
  done
}
register_test regress_runc_forms regress_runc_forms

# A failed restart: the first installer's rerun said "unchanged", skipped the restart, labelled
# the node and exited 0. The restart must stay pending until one succeeds.
regress_pending_restart() {
  local r out rc k c
  r=$(new_root)
  put_config "$r" >/dev/null
  rc=0
  out=$("$INSTALL_NODE" --root "$r" --bin-src "$E2E_DIR/fake-bin" --restart-cmd false 2>&1) || rc=$?
  assert_ne 0 "$rc" "exit status with a failing restart"
  rc=0
  out=$("$INSTALL_NODE" --root "$r" --bin-src "$E2E_DIR/fake-bin" --restart-cmd false 2>&1) || rc=$?
  assert_ne 0 "$rc" "exit status of a rerun with the restart still failing"
  out=$(inst "$r" 2>&1) || fail "rerun with a working restart failed: $out"
  assert_eq 1 "$(restarts "$r")" "restarts by the rerun (the pending one)"
  out=$(inst "$r" 2>&1) || fail "third run failed: $out"
  assert_eq 1 "$(restarts "$r")" "restarts by a run with nothing pending"
  # --no-restart leaves it pending too; no label without a containerd that serves reaper-v2
  r=$(new_root)
  put_config "$r" >/dev/null
  k=$E2E_DIR/fake-kubectl.$RANDOM c=$E2E_DIR/fake-crictl.$RANDOM
  printf '#!/bin/sh\necho "$*" >>%s.log\n' "$k" >"$k"
  printf '#!/bin/sh\n[ -s %s.restarts ] || exit 1\necho '"'"'{"config": {"containerd": {"runtimes": {"reaper-v2": {"runtimeType": "io.containerd.reaper.v2"}}}}}'"'"'\n' "$r" >"$c"
  chmod +x "$k" "$c"
  out=$(inst "$r" --no-restart 2>&1) || fail "install --no-restart failed: $out"
  assert_contains "$out" "READY: no (restart pending)"
  rc=0
  out=$(inst "$r" --no-restart --label-node n1 --kubectl "$k" --crictl "$c" --cri-endpoint /x.sock 2>&1) || rc=$?
  assert_eq 1 "$rc" "label refused while the restart is pending"
  [[ ! -e $k.log ]] || fail "labelled while the restart is pending: $(cat "$k.log")"
  out=$(inst "$r" --label-node n1 --kubectl "$k" --crictl "$c" --cri-endpoint /x.sock 2>&1) ||
    fail "run with a restart failed: $out"
  assert_eq 1 "$(restarts "$r")" "the pending restart was made"
  assert_contains "$out" "READY: yes"
  assert_eq "label node n1 node-restriction.kubernetes.io/reaper-v2=true --overwrite" "$(cat "$k.log")" "label"
}
register_test regress_pending_restart regress_pending_restart

# A restart that "succeeds" but leaves a containerd that does not serve reaper-v2 is a failure.
regress_restart_not_serving() {
  local r out rc c
  r=$(new_root)
  put_config "$r" >/dev/null
  c=$E2E_DIR/fake-crictl.$RANDOM
  printf '#!/bin/sh\necho '"'"'{"config": {"containerd": {"runtimes": {"runc": {}}}}}'"'"'\n' >"$c"
  chmod +x "$c"
  rc=0
  out=$(inst "$r" --crictl "$c" --cri-endpoint /x.sock --ready-timeout 2 2>&1) || rc=$?
  assert_eq 1 "$rc" "exit status when the restarted containerd lacks reaper-v2"
  assert_contains "$out" "no reaper-v2 runtime"
  assert_eq pending "$(/usr/bin/python3 -c 'import json,sys; print("pending" if json.load(open(sys.argv[1]))["restart_pending"] else "done")' "$r/etc/reaper/install-manifest.json")" "restart state"
}
register_test regress_restart_not_serving regress_restart_not_serving

# --uninstall on a node it never installed: the first installer deleted Reaper binaries in
# /usr/local/bin and the .deb's /etc/reaper/reaper.toml.
regress_uninstall_untouched_node() {
  local r b sums out
  r=$(new_root)
  put_config "$r" >/dev/null
  mkdir -p "$r/usr/local/bin" "$r/etc/reaper"
  for b in "${BINARIES[@]}"; do cp "$E2E_DIR/fake-bin/$b" "$r/usr/local/bin/"; done
  cp "$DEFAULT_TOML" "$r/etc/reaper/reaper.toml"
  sums=$(sums_of "$r")
  out=$(inst "$r" --uninstall 2>&1) || fail "uninstall failed: $out"
  assert_contains "$out" "RESULT: unchanged"
  assert_eq "$sums" "$(sums_of "$r")" "files changed by an uninstall of a node never installed"
  # installed over those files: they are not ours, the uninstall keeps them
  out=$(inst "$r" 2>&1) || fail "install failed: $out"
  out=$(inst "$r" --uninstall 2>&1) || fail "uninstall failed: $out"
  for b in "${BINARIES[@]}"; do [[ -f $r/usr/local/bin/$b ]] || fail "uninstall removed the operator's $b"; done
  [[ -f $r/etc/reaper/reaper.toml ]] || fail "uninstall removed the package's reaper.toml"
  cmp "$r.orig" "$r/etc/containerd/config.toml" || fail "config not restored"
}
register_test regress_uninstall_untouched_node regress_uninstall_untouched_node

# --root with an absolute symlink inside the root: the first installer wrote the config and its
# backup outside the root (the link was followed in the installer's view, not the node's).
regress_root_symlink_escape() {
  local r out outside mode
  for mode in openat2 userspace; do
    r=$(new_root)
    outside=$E2E_DIR/outside.$mode
    mkdir -p "$outside/etc" "$outside/bin" "$r$outside/etc" "$r$outside/bin" "$r/usr/local" "$r/etc"
    sample_v2 >"$outside/etc/config.toml"
    sample_v2 >"$r$outside/etc/config.toml"
    cp "$r$outside/etc/config.toml" "$r.orig"
    ln -s "$outside/etc" "$r/etc/containerd"       # absolute: the node resolves it in its root
    ln -s "$outside/bin" "$r/usr/local/bin"
    local sums_out
    sums_out=$(sums_of "$outside"; find "$outside" | sort)
    out=$(REAPER_INSTALLER_NO_OPENAT2=$([[ $mode == userspace ]] && echo 1 || echo 0) inst "$r" 2>&1) ||
      fail "install ($mode) failed: $out"
    assert_eq "$sums_out" "$(sums_of "$outside"; find "$outside" | sort)" "files outside the root changed ($mode)"
    assert_contains "$(cat "$r$outside/etc/config.toml")" "# BEGIN reaper" "config inside the root ($mode)"
    [[ -f $r$outside/etc/config.toml.reaper-backup ]] || fail "backup not inside the root ($mode)"
    [[ -x $r$outside/bin/containerd-shim-reaper-v2 ]] || fail "binaries not inside the root ($mode)"
    # ".." cannot climb out either
    out=$(REAPER_INSTALLER_NO_OPENAT2=$([[ $mode == userspace ]] && echo 1 || echo 0) \
      inst "$r" --uninstall --node-config "/../../../../../../etc/reaper/reaper.toml" 2>&1) || true
    out=$(REAPER_INSTALLER_NO_OPENAT2=$([[ $mode == userspace ]] && echo 1 || echo 0) inst "$r" --uninstall 2>&1) ||
      fail "uninstall ($mode) failed: $out"
    cmp "$r.orig" "$r$outside/etc/config.toml" || fail "config inside the root not restored ($mode)"
    assert_eq "$sums_out" "$(sums_of "$outside"; find "$outside" | sort)" "files outside the root changed by the uninstall ($mode)"
  done
}
register_test regress_root_symlink_escape regress_root_symlink_escape

# An upgrade with another --bin-dir: the first installer left the old binaries forever.
regress_bin_dir_move() {
  local r cfg before out b
  r=$(new_root)
  cfg=$(put_config "$r")
  before=$(tree_of "$r")
  out=$(inst "$r" --bin-dir /opt/reaper/bin 2>&1) || fail "install to /opt/reaper/bin failed: $out"
  assert_contains "$(cat "$cfg")" 'runtime_path = "/opt/reaper/bin/containerd-shim-reaper-v2"'
  out=$(inst "$r" 2>&1) || fail "install to /usr/local/bin failed: $out"
  for b in "${BINARIES[@]}"; do
    [[ ! -e $r/opt/reaper/bin/$b ]] || fail "old copy /opt/reaper/bin/$b left"
    [[ -x $r/usr/local/bin/$b ]] || fail "/usr/local/bin/$b not installed"
  done
  assert_contains "$(cat "$cfg")" 'runtime_path = "/usr/local/bin/containerd-shim-reaper-v2"'
  assert_eq 1 "$(grep -c '# BEGIN reaper' "$cfg")" "blocks after the move"
  assert_eq 2 "$(restarts "$r")" "restarts (the runtime_path changed)"
  out=$(inst "$r" --uninstall 2>&1) || fail "uninstall failed: $out"
  cmp "$r.orig" "$cfg" || fail "config not restored"
  # /opt and /opt/reaper were created by the first install; /opt/reaper/bin emptied by the move
  assert_eq "$before" "$(tree_of "$r")" "files left after the uninstall"
}
register_test regress_bin_dir_move regress_bin_dir_move

# A root config that imports drop-ins. containerd 1.x replaces a whole plugin section from an
# imported file, so a runtime added to the root's CRI section would silently vanish: refused
# with that reason, nothing changed. 2.x merges: the runtime is added and containerd sees it.
regress_imports() {
  local r cfg out rc series sums dump v
  for series in 1.6 2.2; do
    r=$(new_root "$series")
    v=2; [[ $series == 1.6 ]] || v=3
    mkdir -p "$r/etc/containerd/conf.d"
    cfg=$r/etc/containerd/config.toml
    local plugin='plugins."io.containerd.grpc.v1.cri"'
    [[ $v == 2 ]] || plugin='plugins."io.containerd.cri.v1.runtime"'
    printf 'version = %s\nimports = ["/etc/containerd/conf.d/*.toml"]\n\n[%s.containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n' \
      "$v" "$plugin" >"$cfg"
    printf 'version = %s\n[%s]\n  enable_unprivileged_ports = true\n' "$v" "$plugin" >"$r/etc/containerd/conf.d/10-cri.toml"
    cp -p "$cfg" "$r.orig"
    sums=$(sums_of "$r")
    rc=0
    out=$(inst "$r" 2>&1) || rc=$?
    if [[ $series == 1.6 ]]; then
      assert_eq 1 "$rc" "exit status (1.6, CRI section in a drop-in)"
      assert_contains "$out" "an imported file may replace the CRI section"
      assert_eq "$sums" "$(sums_of "$r")" "files changed by the refused install"
      assert_eq 0 "$(restarts "$r")" "restarts by the refused install"
    else
      assert_eq 0 "$rc" "exit status ($series): $out"
      dump=$(chroot "$r" /usr/bin/containerd --config /etc/containerd/config.toml config dump 2>&1)
      assert_contains "$dump" 'runtimes.reaper-v2]' "reaper-v2 with imports ($series)"
      assert_contains "$dump" 'enable_unprivileged_ports = true' "the drop-in's setting ($series)"
      out=$(inst "$r" --uninstall 2>&1) || fail "uninstall failed: $out"
      cmp "$r.orig" "$cfg" || fail "config not restored ($series)"
    fi
  done
}
register_test regress_imports regress_imports

# A node installed by the first installer (state file install-node.state, the same block) is
# upgraded in place and uninstalled byte for byte.
FIRST_INSTALLER_COMMIT=ad03a65
regress_upgrade_from_first_installer() {
  local r cfg before out
  r=$(new_root)
  cfg=$(put_config "$r")
  before=$(tree_of "$r")
  local first=$E2E_DIR/first-install-node.sh
  git -C "$REPO" show "$FIRST_INSTALLER_COMMIT:scripts/install-node.sh" >"$first" 2>/dev/null ||
    { skip "no git history: the first install-node.sh ($FIRST_INSTALLER_COMMIT) is not available"; return; }
  chmod +x "$first"
  out=$("$first" --root "$r" --bin-src "$E2E_DIR/fake-bin" --default-config "$DEFAULT_TOML" --no-restart 2>&1) || fail "first installer failed: $out"
  out=$(inst "$r" 2>&1) || fail "upgrade failed: $out"
  assert_eq 1 "$(grep -c '# BEGIN reaper' "$cfg")" "blocks after the upgrade"
  out=$(inst "$r" --uninstall 2>&1) || fail "uninstall failed: $out"
  cmp "$r.orig" "$cfg" || fail "config not restored"
  assert_eq "$before" "$(tree_of "$r")" "files left"
}
register_test regress_upgrade_from_first_installer regress_upgrade_from_first_installer
