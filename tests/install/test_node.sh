# shellcheck shell=bash
# scripts/install-node.sh against scratch host roots (no containerd is started).

# The main path: a production-like v2 config; install, install again, uninstall.
test_node_v2_install_twice_uninstall() {
  local r cfg before out b dump sums
  r=$(new_root)
  cfg=$(put_config "$r")
  before=$(tree_of "$r")

  out=$(inst "$r" --bin-src "$REAPER_BIN_DIR") || fail "install failed: $out"
  assert_contains "$out" "RESULT: changed"
  # ours appended once, after a blank line; every original byte kept in place
  { cat "$r.orig"; echo; expected_block 2; } | cmp - "$cfg" || fail "config is not original + blank line + block: $(diff "$r.orig" "$cfg" || true)"
  assert_eq 640 "$(stat -c %a "$cfg")" "config mode kept"
  cmp "$r.orig" "$cfg.reaper-backup" || fail "backup differs from the original"
  dump=$(dump_config "$cfg")
  for want in 'runtimes.reaper-v2]' 'runtime_type = "io.containerd.reaper.v2"' \
      'runtime_path = "/usr/local/bin/containerd-shim-reaper-v2"' 'runtimes.runc]' \
      'SystemdCgroup = true' 'runtimes.kata]' 'ConfigPath = "/opt/kata' 'https://mirror.example.com'; do
    assert_contains "$dump" "$want" "containerd config dump of the installed config"
  done
  for b in "${BINARIES[@]}"; do
    [[ -f $r/usr/local/bin/$b && -x $r/usr/local/bin/$b ]] || fail "$b not installed executable"
    cmp "$REAPER_BIN_DIR/$b" "$r/usr/local/bin/$b" || fail "$b differs from the build"
  done
  cmp "$DEFAULT_TOML" "$r/etc/reaper/reaper.toml" || fail "default reaper.toml not written"
  REAPER_CONFIG=$r/etc/reaper/reaper.toml "$r/usr/local/bin/reaper-overlay" list >/dev/null ||
    fail "the default reaper.toml does not parse"
  assert_eq 1 "$(restarts "$r")" "restarts after the first install"

  # second run: nothing changes (same bytes, same inodes), no restart
  sums=$(sums_of "$r")
  out=$(inst "$r" --bin-src "$REAPER_BIN_DIR") || fail "second install failed: $out"
  assert_contains "$out" "RESULT: unchanged"
  assert_eq "$sums" "$(sums_of "$r")" "second install changed files"
  assert_eq 1 "$(grep -cF '# BEGIN reaper' "$cfg")" "number of Reaper blocks"
  assert_eq 1 "$(restarts "$r")" "restarts after the second install"

  out=$(inst "$r" --uninstall) || fail "uninstall failed: $out"
  cmp "$r.orig" "$cfg" || fail "config not restored byte for byte"
  assert_eq 640 "$(stat -c %a "$cfg")" "restored config mode"
  assert_eq "$before" "$(tree_of "$r")" "files left after uninstall"
  assert_eq 2 "$(restarts "$r")" "restarts after uninstall"
  out=$(inst "$r" --uninstall) || fail "second uninstall failed: $out"
  assert_contains "$out" "RESULT: unchanged"
  assert_eq 2 "$(restarts "$r")" "restarts after a second uninstall"
}
register_test node_v2_install_twice_uninstall test_node_v2_install_twice_uninstall

test_node_v3_roundtrip() {
  local r cfg before out series v pair
  # 2.3 with a version 3 file too: it migrates it and warns, the same for every candidate
  for pair in 2.0:3 2.3:3 2.3:4; do
    series=${pair%:*} v=${pair#*:}
    r=$(new_root "$series")
    cfg=$(put_config "$r" sample_v3)
    if [[ $v == 4 ]]; then sed -i 's/^version = 3$/version = 4/' "$cfg"; cp -p "$cfg" "$r.orig"; fi
    before=$(tree_of "$r")
    out=$(inst "$r") || fail "install (v$v, containerd $series) failed: $out"
    { cat "$r.orig"; echo; expected_block "$v"; } | cmp - "$cfg" || fail "v$v block wrong: $(diff "$r.orig" "$cfg" || true)"
    out=$(inst "$r") || fail "second install failed: $out"
    assert_contains "$out" "RESULT: unchanged"
    out=$(inst "$r" --uninstall) || fail "uninstall failed: $out"
    cmp "$r.orig" "$cfg" || fail "v$v config not restored"
    assert_eq "$before" "$(tree_of "$r")" "files left after uninstall (v$v)"
  done
}
register_test node_v3_roundtrip test_node_v3_roundtrip

# No config file: a minimal one is created (with runc, which containerd would otherwise drop
# from its runtime list), and removed again by --uninstall.
test_node_no_config() {
  local r out dump v series before
  for series in 1.6 2.0 2.3; do
    r=$(new_root "$series")
    before=$(tree_of "$r")
    case $series in 1.6) v=2 ;; 2.0) v=3 ;; *) v=$(chroot "$r" /usr/bin/containerd config default | sed -n 's/^version = //p') ;; esac
    out=$(inst "$r") || fail "install (containerd $series) failed: $out"
    assert_contains "$out" "creating a version $v config"
    dump=$(chroot "$r" /usr/bin/containerd --config /etc/containerd/config.toml config dump 2>&1)
    assert_contains "$dump" 'runtimes.runc]' "runc kept in the created config ($series)"
    assert_contains "$dump" 'runtimes.reaper-v2]' "reaper-v2 in the created config ($series)"
    assert_eq "version = $v" "$(head -n 1 "$r/etc/containerd/config.toml")" "created config version ($series)"
    [[ ! -e $r/etc/containerd/config.toml.reaper-backup ]] || fail "backup of a config that did not exist"
    out=$(inst "$r" --uninstall) || fail "uninstall ($series) failed: $out"
    assert_eq "$before" "$(tree_of "$r")" "files left after uninstall ($series)"
  done
  # --containerd-version still chooses the version
  r=$(new_root)
  out=$(inst "$r" --containerd-version 2) || fail "install --containerd-version 2 failed: $out"
  { echo "version = 2"; echo; expected_block 2 1; } | cmp - "$r/etc/containerd/config.toml" ||
    fail "created v2 config: $(cat "$r/etc/containerd/config.toml")"
}
register_test node_no_config test_node_no_config

# A config without runtimes (Debian's /etc/containerd/config.toml): the block keeps runc.
test_node_config_without_runtimes() {
  local r cfg dump out
  r=$(new_root)
  mkdir -p "$r/etc/containerd"
  cfg=$r/etc/containerd/config.toml
  printf 'version = 2\n\n[plugins]\n  [plugins."io.containerd.grpc.v1.cri"]\n    [plugins."io.containerd.grpc.v1.cri".cni]\n      bin_dir = "/usr/lib/cni"\n' >"$cfg"
  cp "$cfg" "$r.orig"
  dump=$(dump_config "$cfg")
  assert_contains "$dump" 'runtimes.runc]' "containerd's built-in runc before the install"
  out=$(inst "$r") || fail "install failed: $out"
  { cat "$r.orig"; echo; expected_block 2 1; } | cmp - "$cfg" || fail "block: $(diff "$r.orig" "$cfg" || true)"
  dump=$(dump_config "$cfg")
  assert_contains "$dump" 'runtimes.runc]' "runc after the install"
  assert_contains "$dump" 'runtimes.reaper-v2]' "reaper-v2 after the install"
  out=$(inst "$r" --uninstall) || fail "uninstall failed: $out"
  cmp "$r.orig" "$cfg" || fail "config not restored"
}
register_test node_config_without_runtimes test_node_config_without_runtimes

# An operator's reaper.toml is never overwritten nor removed; an edited default is kept too.
test_node_keeps_operator_config() {
  local r out
  r=$(new_root)
  put_config "$r" >/dev/null
  mkdir -p "$r/etc/reaper"
  printf 'state_root = "/var/lib/reaper"\n' >"$r/etc/reaper/reaper.toml"
  out=$(inst "$r") || fail "install failed: $out"
  assert_eq 'state_root = "/var/lib/reaper"' "$(cat "$r/etc/reaper/reaper.toml")" "operator config overwritten"
  out=$(inst "$r" --uninstall) || fail "uninstall failed: $out"
  assert_eq 'state_root = "/var/lib/reaper"' "$(cat "$r/etc/reaper/reaper.toml")" "operator config removed"
  assert_eq "etc/reaper/reaper.toml" "$(cd "$r" && find etc/reaper -type f)" "files in etc/reaper"

  r=$(new_root)
  put_config "$r" >/dev/null
  out=$(inst "$r") || fail "install failed: $out"
  echo 'dns_mode = "kubernetes"' >>"$r/etc/reaper/reaper.toml"
  out=$(inst "$r") || fail "reinstall failed: $out"
  assert_contains "$(cat "$r/etc/reaper/reaper.toml")" 'dns_mode = "kubernetes"' "edited default overwritten"
  out=$(inst "$r" --uninstall) || fail "uninstall failed: $out"
  assert_contains "$(cat "$r/etc/reaper/reaper.toml")" 'dns_mode = "kubernetes"' "edited default removed"
  assert_contains "$out" "reaper.toml changed since install-node.sh wrote it: kept"
}
register_test node_keeps_operator_config test_node_keeps_operator_config

# Upgrade while a binary runs: replaced by rename (no "text file busy"); the running process
# keeps the old file. Uninstall warns about running shims.
test_node_atomic_upgrade_running_binary() {
  local r src out pid old_ino new_ino
  r=$(new_root)
  put_config "$r" >/dev/null
  src=$E2E_DIR/fake-bin.$RANDOM
  mkdir -p "$src"
  cp "$(command -v sleep)" "$src/containerd-shim-reaper-v2"
  cp "$E2E_DIR/fake-bin/reaper-runtime" "$E2E_DIR/fake-bin/reaper-overlay" "$src/"
  out=$(inst "$r" --bin-src "$src") || fail "install of the old version failed: $out"
  "$r/usr/local/bin/containerd-shim-reaper-v2" 300 &
  pid=$!
  old_ino=$(stat -c %i "$r/usr/local/bin/containerd-shim-reaper-v2")
  out=$(inst "$r" --bin-src "$REAPER_BIN_DIR") || { kill "$pid"; fail "upgrade over a running binary failed: $out"; }
  new_ino=$(stat -c %i "$r/usr/local/bin/containerd-shim-reaper-v2")
  assert_ne "$old_ino" "$new_ino" "inode of the upgraded shim"
  cmp "$REAPER_BIN_DIR/containerd-shim-reaper-v2" "$r/usr/local/bin/containerd-shim-reaper-v2" ||
    { kill "$pid"; fail "shim not upgraded"; }
  assert_contains "$(readlink "/proc/$pid/exe")" "(deleted)" "the running process's executable"
  kill -0 "$pid" || fail "the running old binary died"
  out=$(inst "$r" --uninstall) || { kill "$pid"; fail "uninstall failed: $out"; }
  assert_contains "$out" "WARNING" "uninstall with a running shim"
  assert_contains "$out" "shim process(es) still run" "uninstall with a running shim"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  [[ -z $(find "$r" -name '*install-node-tmp*') ]] || fail "temp files left"
}
register_test node_atomic_upgrade_running_binary test_node_atomic_upgrade_running_binary

# Binaries already in --bin-dir (a package's /usr/bin): used in place, kept by --uninstall.
test_node_in_place_binaries() {
  local r cfg before out b
  r=$(new_root)
  cfg=$(put_config "$r")
  mkdir -p "$r/usr/bin"
  for b in "${BINARIES[@]}"; do cp "$E2E_DIR/fake-bin/$b" "$r/usr/bin/"; done
  before=$(tree_of "$r")
  out=$(inst "$r" --bin-src "$r/usr/bin" --bin-dir /usr/bin) || fail "install failed: $out"
  for b in "${BINARIES[@]}"; do assert_contains "$out" "/usr/bin/$b is up to date (it is the source itself"; done
  { cat "$r.orig"; echo; expected_block 2 0 /usr/bin; } | cmp - "$cfg" || fail "block: $(diff "$r.orig" "$cfg" || true)"
  [[ ! -e $r/usr/local ]] || fail "binaries copied to /usr/local"
  out=$(inst "$r" --uninstall) || fail "uninstall failed: $out"
  cmp "$r.orig" "$cfg" || fail "config not restored"
  assert_eq "$before" "$(tree_of "$r")" "files after uninstall (binaries must stay)"
}
register_test node_in_place_binaries test_node_in_place_binaries

# The operator edits the config after the install: uninstall removes only our block.
test_node_config_edited_after_install() {
  local r cfg out
  r=$(new_root)
  cfg=$(put_config "$r")
  out=$(inst "$r") || fail "install failed: $out"
  sed -i 's/oom_score = -999/oom_score = -500/' "$cfg"
  out=$(inst "$r") || fail "reinstall after the edit failed: $out"
  assert_contains "$out" "RESULT: unchanged"
  out=$(inst "$r" --uninstall) || fail "uninstall failed: $out"
  assert_contains "$out" "changed since the install"
  sed 's/oom_score = -999/oom_score = -500/' "$r.orig" | cmp - "$cfg" || fail "edited config after uninstall: $(diff "$r.orig" "$cfg" || true)"
  cmp "$r.orig" "$cfg.reaper-backup" || fail "backup not kept"
}
register_test node_config_edited_after_install test_node_config_edited_after_install

# Byte-for-byte: an original without a final newline, and with trailing blank lines.
test_node_exact_bytes() {
  local r cfg out gen
  for gen in sample_v2_no_newline sample_v2_blank_tail; do
    r=$(new_root)
    cfg=$(put_config "$r" "$gen")
    out=$(inst "$r") || fail "install ($gen) failed: $out"
    out=$(inst "$r") || fail "second install ($gen) failed: $out"
    assert_contains "$out" "RESULT: unchanged" "second install ($gen)"
    assert_eq 1 "$(grep -cF '# BEGIN reaper' "$cfg")" "blocks ($gen)"
    out=$(inst "$r" --uninstall) || fail "uninstall ($gen) failed: $out"
    cmp "$r.orig" "$cfg" || fail "config ($gen) not restored byte for byte"
  done
}
register_test node_exact_bytes test_node_exact_bytes

# Refusals: non-zero exit, a message, and nothing changed on the node.
test_node_refusals() {
  local r cfg before out rc case
  for case in foreign_reaper quoted_reaper version1 version4 version5 damaged_block symlink no_binaries broken_toml; do
    r=$(new_root)
    cfg=$(put_config "$r")
    case $case in
      foreign_reaper) printf '\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.reaper-v2]\n  runtime_type = "io.containerd.reaper.v2"\n' >>"$cfg" ;;
      quoted_reaper) printf '\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes."reaper-v2".options]\n  X = 1\n' >>"$cfg" ;;
      version1) sed -i '/^version = 2$/d' "$cfg" ;;
      version4) sed -i 's/^version = 2$/version = 4/' "$cfg" ;;
      version5) sed -i 's/^version = 2$/version = 5/' "$cfg" ;;
      broken_toml) printf '[plugins\n' >>"$cfg" ;;
      damaged_block) echo '# BEGIN reaper (managed by scripts/install-node.sh; --uninstall removes this block)' >>"$cfg" ;;
      symlink) mv "$cfg" "$cfg.real" && ln -s config.toml.real "$cfg" ;;
    esac
    before=$(sums_of "$r")
    rc=0
    if [[ $case == no_binaries ]]; then
      out=$("$INSTALL_NODE" --root "$r" --bin-src "$E2E_DIR/nothing-here" 2>&1) || rc=$?
    else
      out=$(inst "$r" 2>&1) || rc=$?
    fi
    assert_ne 0 "$rc" "exit status for $case"
    assert_contains "$out" "ERROR" "message for $case"
    assert_eq "$before" "$(sums_of "$r")" "files changed by the refused install ($case)"
    assert_empty "$(cd "$r" && find . -name '*reaper*' ! -name config.toml)" "files created by the refused install ($case)"
    case $case in
      foreign_reaper|quoted_reaper) assert_contains "$out" "already defines a reaper-v2 runtime" ;;
      version1) assert_contains "$out" "version 1 config" ;;
      version4) assert_contains "$out" "is a version 4 config, which the node's containerd 1.6" ;;
      version5) assert_contains "$out" "unknown config version 5" ;;
      broken_toml) assert_contains "$out" "is not valid TOML" ;;
      damaged_block) assert_contains "$out" "damaged Reaper block" ;;
      symlink) assert_contains "$out" "is a symbolic link" ;;
      no_binaries) assert_contains "$out" "not found" ;;
    esac
  done
}
register_test node_refusals test_node_refusals

test_node_dry_run() {
  local r before list out
  r=$(new_root)
  put_config "$r" >/dev/null
  before=$(sums_of "$r")
  list=$(cd "$r" && find . | sort)
  out=$(inst "$r" --dry-run) || fail "dry run failed: $out"
  assert_contains "$out" "+# BEGIN reaper" "dry run shows the config diff"
  assert_contains "$out" "would install /usr/local/bin/containerd-shim-reaper-v2" "dry run lists the writes"
  assert_contains "$out" "would restart containerd" "dry run lists the restart"
  assert_contains "$out" "RESULT: would change" "dry run's result line"
  assert_eq "$before" "$(sums_of "$r")" "dry run changed files"
  assert_eq "$list" "$(cd "$r" && find . | sort)" "dry run created or removed files"
  assert_eq 0 "$(restarts "$r")" "dry run restarted containerd"
  # after a real install, a dry run has nothing to do
  inst "$r" >/dev/null || fail "install failed"
  out=$(inst "$r" --dry-run) || fail "dry run failed: $out"
  assert_contains "$out" "RESULT: unchanged" "dry run of an installed node"
  out=$(inst "$r" --uninstall --dry-run) || fail "dry run of the uninstall failed: $out"
  assert_contains "$out" "would restore the original /etc/containerd/config.toml" "dry run of the uninstall"
  assert_contains "$out" "RESULT: would change" "dry run of the uninstall"
  [[ -e $r/etc/reaper/install-manifest.json ]] || fail "dry run of the uninstall removed the manifest"
}
register_test node_dry_run test_node_dry_run

# --label-node labels the node with the key the RuntimeClass selects, only once the running
# containerd serves reaper-v2 (asked through crictl; a stand-in answers here, the real one in
# test_matrix.sh); --uninstall removes the label first.
test_node_label() {
  local r k c out rc
  r=$(new_root)
  put_config "$r" >/dev/null
  k=$E2E_DIR/fake-kubectl.$RANDOM
  printf '#!/bin/sh\necho "$*" >>%s.log\n' "$k" >"$k"
  c=$E2E_DIR/fake-crictl.$RANDOM
  # serves reaper-v2 once a (stand-in) restart ran with the runtime in the config
  printf '#!/bin/sh\nif [ -s %s.restarts ] && grep -q reaper-v2 %s/etc/containerd/config.toml; then echo '"'"'{"config": {"containerd": {"runtimes": {"runc": {"runtimeType": "io.containerd.runc.v2"}, "reaper-v2": {"runtimeType": "io.containerd.reaper.v2"}}}}}'"'"'; else echo '"'"'{"config": {"containerd": {"runtimes": {"runc": {}}}}}'"'"'; fi\n' "$r" "$r" >"$c"
  chmod +x "$k" "$c"
  out=$(inst "$r" --label-node node-7 --kubectl "$k" --crictl "$c" --cri-endpoint /nonexistent.sock) ||
    fail "install failed: $out"
  assert_contains "$out" "READY: yes"
  out=$(inst "$r" --uninstall --label-node node-7 --kubectl "$k" --crictl "$c" --cri-endpoint /nonexistent.sock) ||
    fail "uninstall failed: $out"
  assert_eq "$(printf 'label node node-7 node-restriction.kubernetes.io/reaper-v2=true --overwrite\nlabel node node-7 node-restriction.kubernetes.io/reaper-v2- --overwrite')" \
    "$(cat "$k.log")" "kubectl calls"
  # without a way to ask containerd, the node is not labelled
  r=$(new_root)
  put_config "$r" >/dev/null
  : >"$k.log"
  rc=0
  out=$(inst "$r" --label-node node-8 --kubectl "$k" --crictl /nonexistent/crictl 2>&1) || rc=$?
  assert_eq 1 "$rc" "exit status of a label without a readiness check"
  assert_contains "$out" "not labelling node node-8"
  assert_empty "$(cat "$k.log")" "kubectl calls without readiness"
}
register_test node_label test_node_label

test_node_help() {
  local out
  out=$("$INSTALL_NODE" --help)
  for want in --root --bin-src --bin-dir --containerd-config --restart-cmd --no-restart \
      --label-node --uninstall --dry-run --containerd --crictl node-restriction.kubernetes.io/reaper-v2; do
    assert_contains "$out" "$want" "install-node.sh --help"
  done
  if out=$("$INSTALL_NODE" --bogus 2>&1); then fail "unknown option accepted"; fi
  assert_contains "$out" "unknown argument"
}
register_test node_help test_node_help
