# shellcheck shell=bash
# The installer image (deploy/kubernetes/installer): stage.sh assembles its root filesystem,
# podman builds it FROM scratch offline (private storage in the run's dir); then the image's
# own installer runs from that filesystem alone (chroot, host root bind-mounted at /host in a
# private mount namespace, as the DaemonSet mounts it): install against a scratch node with
# containerd 1.6, then uninstall byte for byte.

img_stage() {   # once per run (each test runs in its own subshell)
  local crictl kubectl
  IMG_CTX=$E2E_DIR/image-ctx
  [[ -x $IMG_CTX/opt/reaper/install-node.sh ]] && return 0
  crictl=$(mx_crictl) || fail "no crictl"
  # kubectl of the Kubernetes peer if it is built already (tests/k8s builds it; building it here
  # would take the suite's time), else the machine's kubectl (stage.sh copies its libraries)
  local peers=${REAPER_PEERS_DIR:-$REPO/build/peers} kv
  kv=$(sed -n 's/^KUBERNETES=//p' "$REPO/tests/peers/versions.env")
  kubectl=$peers/kubernetes-$kv/bin/kubectl
  [[ -f $peers/kubernetes-$kv/bin/.complete && -x $kubectl ]] || kubectl=$(command -v kubectl) ||
    fail "no kubectl (tests/peers/build.sh --path kubernetes, or scripts/install-deps.sh)"
  "$REPO/deploy/kubernetes/installer/stage.sh" "$IMG_CTX" --bin-src "$REAPER_BIN_DIR" --crictl "$crictl" \
    --kubectl "$kubectl" || fail "stage.sh failed"
}

test_image_build() {
  command -v podman >/dev/null || fail "podman not installed (scripts/install-deps.sh)"
  img_stage
  local p=(podman --root "$E2E_DIR/podman/root" --runroot "$E2E_DIR/podman/run" --storage-driver vfs
           --cgroup-manager cgroupfs --events-backend none)
  local out
  out=$("${p[@]}" build --pull=never --network none -f "$REPO/deploy/kubernetes/installer/Containerfile" \
    -t reaper-node-installer:test "$IMG_CTX" 2>&1) || fail "podman build failed: $(tail -n 20 <<<"$out")"
  "${p[@]}" save --format oci-archive -o "$E2E_DIR/installer-image.tar" reaper-node-installer:test >/dev/null ||
    fail "podman save failed"
  out=$("${p[@]}" image inspect reaper-node-installer:test --format '{{len .RootFS.Layers}} {{.Config.Entrypoint}}')
  assert_eq "1 [/opt/reaper/install-node.sh]" "$out" "layers and entrypoint of the image"
  mkdir -p "$E2E_DIR/image-x"
  tar -C "$E2E_DIR/image-x" -xf "$E2E_DIR/installer-image.tar"
  [[ -s $E2E_DIR/installer-image.tar ]] || fail "empty image archive"
  "${p[@]}" rmi -f reaper-node-installer:test >/dev/null 2>&1 || true
  rm -rf "$E2E_DIR/podman" "$E2E_DIR/image-x"
}
register_test image_build test_image_build

test_image_installer_runs() {
  img_stage
  local r cfg before out
  r=$(new_root)
  cfg=$(put_config "$r")
  before=$(tree_of "$r")
  # the image's filesystem alone: no host library, no host python
  out=$(unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" "$2/host" && shift 2 && exec chroot "$0" "$@"' \
    "$IMG_CTX" "$r" "$IMG_CTX" /opt/reaper/install-node.sh --root /host --bin-src /opt/reaper/bin --crictl /none \
    --restart-cmd "echo restart" 2>&1) || fail "the image's installer failed: $out"
  assert_contains "$out" "RESULT: changed" "install from the image"
  assert_contains "$out" "checked by /usr/bin/containerd" "the node's containerd checked the config"
  { cat "$r.orig"; echo; expected_block 2; } | cmp - "$cfg" || fail "config after the image's install: $(diff "$r.orig" "$cfg" || true)"
  cmp "$REAPER_BIN_DIR/containerd-shim-reaper-v2" "$r/usr/local/bin/containerd-shim-reaper-v2" || fail "shim not installed"
  out=$(unshare -m sh -c 'mount --make-rprivate / && mount --bind "$1" "$2/host" && shift 2 && exec chroot "$0" "$@"' \
    "$IMG_CTX" "$r" "$IMG_CTX" /opt/reaper/install-node.sh --uninstall --root /host --crictl /none --restart-cmd "echo restart" 2>&1) ||
    fail "the image's uninstall failed: $out"
  cmp "$r.orig" "$cfg" || fail "config not restored by the image's uninstall"
  assert_eq "$before" "$(tree_of "$r")" "files left after the image's uninstall"
}
register_test image_installer_runs test_image_installer_runs
