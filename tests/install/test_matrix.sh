# shellcheck shell=bash
# The acceptance matrix of the installer, on each containerd of the test matrix (1.6, 2.0, 2.2,
# 2.3; pinned in tests/peers/versions.env): a PRIVATE containerd with its CRI plugin and no
# reaper-v2 runtime; scripts/install-node.sh against its config (checked by that containerd,
# restarted by a script that restarts it by PID, asked through crictl), then: the running
# containerd serves reaper-v2 (CRI Status), a pod runs through CRI (reaperctl), and
# --uninstall restores the config byte for byte and the restarted containerd no longer serves
# it. INSTALL_MATRIX="1.6 2.3" selects versions.

MX_VERSIONS=${INSTALL_MATRIX:-1.6 2.0 2.2 2.3}
MX_IMAGE=docker.io/library/reaper-test:latest

mx_bin_dir() { # SERIES: directory with containerd and ctr of that release
  if [[ $1 == 1.6 ]]; then dirname "$(command -v containerd)"; return; fi
  REAPER_PEERS_DIR=${REAPER_PEERS_DIR:-$REPO/build/peers} "$REPO/tests/peers/build.sh" --path "containerd-$1"
}
mx_crictl() {
  local d
  d=$(REAPER_PEERS_DIR=${REAPER_PEERS_DIR:-$REPO/build/peers} "$REPO/tests/peers/build.sh" --path cri-tools) || return 1
  echo "$d/crictl"
}

mx_free_port() {
  local port hex
  for _ in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 40000 ))
    hex=$(printf ':%04X ' "$port")
    grep -qF "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null || { echo "$port"; return 0; }
  done
  return 1
}

# mx_config SERIES DIR: the config an operator of that release might have: CRI with runc only,
# in the version that release writes (2 for 1.6, 3 for 2.0/2.2, 4 for 2.3).
mx_config() {
  local s=$1 d=$2 port v plugins
  port=$(mx_free_port) || die "no free port"
  case $s in 1.6) v=2 ;; 2.0 | 2.2) v=3 ;; *) v=4 ;; esac
  if [[ $v == 2 ]]; then
    plugins='"io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"'
  else
    plugins='"io.containerd.nri.v1.nri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.erofs", "io.containerd.snapshotter.v1.blockfile", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"'
  fi
  printf '# a private containerd %s (tests/install/test_matrix.sh)\nversion = %s\nroot = "%s/root"\nstate = "%s/state"\ntemp = "%s/tmp"\ndisabled_plugins = [%s]\n\n' \
    "$s" "$v" "$d" "$d" "$d" "$plugins"
  if [[ $v == 4 ]]; then
    printf '[plugins."io.containerd.server.v1.grpc"]\n  address = "%s"\n[plugins."io.containerd.server.v1.ttrpc"]\n  address = "%s.ttrpc"\n[plugins."io.containerd.server.v1.debug"]\n  address = "%s/debug.sock"\n\n' \
      "$E2E_ADDR" "$E2E_ADDR" "$d"
  else
    printf '[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n[debug]\n  address = "%s/debug.sock"\n\n' "$E2E_ADDR" "$E2E_ADDR" "$d"
  fi
  if [[ $v == 2 ]]; then
    cat <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$MX_IMAGE"   # the test image, imported below
  stream_server_address = "127.0.0.1"
  stream_server_port = "$port"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$d/cni/bin"
    conf_dir = "$d/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
EOF
  else
    cat <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "$port"

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "$MX_IMAGE"

[plugins."io.containerd.cri.v1.runtime"]
  [plugins."io.containerd.cri.v1.runtime".cni]
    conf_dir = "$d/cni/conf"
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
EOF
  fi
}

# mx_restart_script SERIES DIR: DIR/restart-containerd (re)starts the private containerd: stops
# the one in $E2E_DIR/containerd.pid (TERM, by PID), starts the binary of SERIES with DIR's
# config, writes the new PID there (the suite's teardown reads that file).
# containerd 1.6 starts the pod sandbox's shim by name, from its PATH (runtime_path is not used
# there): the bin dir is on its PATH, as /usr/local/bin is on a systemd unit's.
mx_restart_script() {
  local bindir=$1 d=$2 path=$1
  [[ $3 != 1.6 ]] || path=$d/node/bin:$bindir
  cat >"$d/restart-containerd" <<EOF
#!/bin/sh
pidf=$E2E_DIR/containerd.pid
if [ -s "\$pidf" ]; then
  pid=\$(cat "\$pidf")
  kill -TERM "\$pid" 2>/dev/null
  i=0
  while kill -0 "\$pid" 2>/dev/null && [ \$i -lt 100 ]; do i=\$((i + 1)); sleep 0.1; done
  kill -0 "\$pid" 2>/dev/null && { echo "containerd \$pid did not stop" >&2; exit 1; }
fi
cd "$d" || exit 1
PATH="$path:\$PATH" REAPER_CONFIG="$d/node/reaper.toml" setsid "$bindir/containerd" --config "$d/config.toml" \
  >>"$d/containerd.log" 2>&1 </dev/null &
echo \$! >"\$pidf"
EOF
  chmod +x "$d/restart-containerd"
}

mx_cri_info() { timeout 20 "$MX_CRICTL" --runtime-endpoint "unix://$E2E_ADDR" --timeout 10s info 2>/dev/null; }
mx_cri_up() { mx_cri_info >/dev/null; }
mx_serves() { # yes|no: does the running containerd list reaper-v2 in its CRI config?
  mx_cri_info | /usr/bin/python3 -c 'import json,sys; i=json.load(sys.stdin); print("yes" if "reaper-v2" in i["config"]["containerd"]["runtimes"] else "no")'
}

# mx_prepare SERIES [TAG]: $E2E_DIR/TAG-SERIES (TAG default mx) with that release's config, its
# containerd started (CRI answers, reaper-v2 not served), the test image imported; sets MX_DIR
# and MX_BINDIR.
mx_prepare() {
  local s=$1 d
  d=$E2E_DIR/${2:-mx}-$s
  MX_DIR=$d
  mkdir -p "$d/cni/bin" "$d/cni/conf" "$d/logs" "$d/rctl"
  MX_BINDIR=$(mx_bin_dir "$s") || fail "no containerd $s"
  mx_config "$s" "$d" >"$d/config.toml"
  cp -p "$d/config.toml" "$d/config.orig"
  printf 'state_root = "%s/reaper-state"\n' "$d" >"$d/default-reaper.toml"
  mx_restart_script "$MX_BINDIR" "$d" "$s"
  "$d/restart-containerd" || fail "cannot start containerd $s"
  E2E_CONTAINERD_PID=$(cat "$E2E_DIR/containerd.pid")
  assert_wait 60 "containerd $s did not answer through CRI" mx_cri_up
  assert_eq no "$(mx_serves)" "reaper-v2 before the install ($s)"
  [[ -f $E2E_DIR/mx-image.tar ]] || e2e_build_image_tarball "$E2E_DIR/mx-image.tar" "$MX_IMAGE"
  timeout 60 "$MX_BINDIR/ctr" --address "$E2E_ADDR" -n k8s.io images import "$E2E_DIR/mx-image.tar" >/dev/null ||
    fail "image import failed ($s)"
}

# mx_fake_kubectl FILE: a stand-in kubectl that logs its arguments to FILE.log and says
# "not labeled" when the label is already so, as kubectl does
mx_fake_kubectl() {
  printf '#!/bin/sh\nif grep -qxF -- "$*" %s.log 2>/dev/null; then echo "node/x not labeled"; else echo "node/x labeled"; fi\necho "$*" >>%s.log\n' "$1" "$1" >"$1"
  chmod +x "$1"
}

# mx_pod SERIES: a reaper-v2 pod through CRI (reaperctl): output, exit code, and its parent is
# the installed shim (privileged: reading the shim's /proc/PID/exe needs CAP_SYS_PTRACE, which
# the default capability set does not have)
mx_pod() {
  local s=$1 d=$MX_DIR pod out rc
  pod=$d/pod.yaml
  printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: mx-%s\n  annotations:\n    reaper.runtime/test: "yes"\nspec:\n  runtimeClassName: reaper-v2\n  hostNetwork: true\n  restartPolicy: Never\n  containers:\n  - name: c\n    command: ["/bin/sh", "-c", "echo hello from reaper on %s; readlink /proc/$PPID/exe; exit 7"]\n    securityContext:\n      privileged: true\n' \
    "${s/./-}" "$s" >"$pod"
  rc=0
  out=$(timeout -k 5 120 "$REAPERCTL_BIN" --runtime-endpoint "unix://$E2E_ADDR" --default-image "$MX_IMAGE" \
    --log-root "$d/logs" --root "$d/rctl" run --rm --timeout 60 -f "$pod" 2>"$d/rctl.err") || rc=$?
  assert_eq 7 "$rc" "pod exit code through CRI ($s; stderr: $(tail -n 5 "$d/rctl.err"))"
  assert_eq "$(printf 'hello from reaper on %s\n%s' "$s" "$d/node/bin/containerd-shim-reaper-v2")" "$out" "pod output ($s)"
}

# mx_finish SERIES: after the uninstall: config byte for byte, containerd back without reaper-v2,
# nothing left, no warning about our config; stops that containerd
mx_finish() {
  local s=$1 d=$MX_DIR log
  cmp "$d/config.orig" "$d/config.toml" || fail "config not restored byte for byte ($s)"
  E2E_CONTAINERD_PID=$(cat "$E2E_DIR/containerd.pid")
  assert_wait 60 "containerd $s did not come back after the uninstall" mx_cri_up
  assert_eq no "$(mx_serves)" "reaper-v2 served after the uninstall ($s)"
  [[ ! -e $d/node ]] || fail "left after the uninstall ($s): $(find "$d/node")"
  log=$(grep -E 'Ignoring unknown key' "$d/containerd.log" || true)
  assert_empty "$log" "containerd $s warnings about our config"
  kill_pids_deadline TERM 10 "$E2E_CONTAINERD_PID"
  : >"$E2E_DIR/containerd.pid"
  E2E_CONTAINERD_PID=""
}

mx_one() {
  local s=$1 d out k
  mx_prepare "$s"
  d=$MX_DIR
  k=$d/kubectl
  mx_fake_kubectl "$k"
  local args=(--containerd-config "$d/config.toml" --containerd "$MX_BINDIR/containerd"
    --bin-src "$REAPER_BIN_DIR" --bin-dir "$d/node/bin" --node-config "$d/node/reaper.toml"
    --default-config "$d/default-reaper.toml" --restart-cmd "$d/restart-containerd"
    --crictl "$MX_CRICTL" --label-node "mx-$s" --kubectl "$k")
  out=$("$INSTALL_NODE" "${args[@]}" 2>&1) || fail "install on containerd $s failed: $out"
  echo "$out"
  assert_contains "$out" "READY: yes (the running containerd serves reaper-v2" "install on $s"
  assert_contains "$out" "RESULT: changed" "install on $s"
  assert_eq "label node mx-$s node-restriction.kubernetes.io/reaper-v2=true --overwrite" "$(cat "$k.log")" "label ($s)"
  E2E_CONTAINERD_PID=$(cat "$E2E_DIR/containerd.pid")
  assert_eq yes "$(mx_serves)" "reaper-v2 served after the install ($s)"
  mx_pod "$s"
  out=$("$INSTALL_NODE" "${args[@]}" 2>&1) || fail "second install on $s failed: $out"
  assert_contains "$out" "RESULT: unchanged" "second install on $s"
  assert_contains "$out" "READY: yes" "second install on $s"
  out=$("$INSTALL_NODE" --uninstall "${args[@]}" 2>&1) || fail "uninstall on $s failed: $out"
  echo "$out"
  mx_finish "$s"
}

mx_tools() {
  MX_CRICTL=$(mx_crictl) || fail "cannot build crictl (tests/peers/build.sh --path cri-tools)"
  REAPERCTL_BIN=$REAPER_BIN_DIR/tools/reaperctl/reaperctl
  [[ -x $REAPERCTL_BIN ]] || fail "$REAPERCTL_BIN not built"
}

test_matrix() {
  local s
  mx_tools
  for s in $MX_VERSIONS; do
    log "installer matrix: containerd $s"
    mx_one "$s"
  done
}
register_test install_matrix test_matrix
