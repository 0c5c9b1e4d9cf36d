# shellcheck shell=bash
# The installer image (deploy/kubernetes/installer): stage.sh assembles its root filesystem,
# podman builds it FROM scratch offline (private storage in the run's dir); then the image's
# own installer runs from that filesystem alone (chroot, host root bind-mounted at /host in a
# private mount namespace, as the DaemonSet mounts it): install against a scratch node with
# containerd 1.6, then uninstall byte for byte.

img_stage() {   # once per run (each test runs in its own subshell)
  IMG_WORK=$E2E_DIR/image
  IMG_CTX=$IMG_WORK/ctx
  [[ -x $IMG_CTX/opt/reaper/install-node.sh ]] && return 0
  img_tools
  "$REPO/deploy/kubernetes/installer/stage.sh" "$IMG_CTX" --bin-src "$REAPER_BIN_DIR" --crictl "$IMG_CRICTL" \
    --kubectl "$IMG_KUBECTL" || fail "stage.sh failed"
}

img_tools() {
  IMG_CRICTL=$(mx_crictl) || fail "no crictl"
  # kubectl of the Kubernetes peer if it is built already (tests/k8s builds it; building it here
  # would take the suite's time), else the machine's kubectl (stage.sh copies its libraries)
  local peers=${REAPER_PEERS_DIR:-$REPO/build/peers} kv
  kv=$(sed -n 's/^KUBERNETES=//p' "$REPO/tests/peers/versions.env")
  IMG_KUBECTL=$peers/kubernetes-$kv/bin/kubectl
  [[ -f $peers/kubernetes-$kv/bin/.complete && -x $IMG_KUBECTL ]] || IMG_KUBECTL=$(command -v kubectl) ||
    fail "no kubectl (tests/peers/build.sh --path kubernetes, or scripts/install-deps.sh)"
}

# build-image.sh: one layer, the installer as entrypoint, the full tag in the archive's index.
test_image_build() {
  command -v podman >/dev/null || fail "podman not installed (scripts/install-deps.sh)"
  img_stage
  local out tar=$E2E_DIR/installer-image.tar x=$E2E_DIR/image-x
  out=$("$REPO/deploy/kubernetes/installer/build-image.sh" "$tar" --work "$IMG_WORK" \
    --tag reaper.test/reaper-node-installer:test 2>&1) || fail "build-image.sh failed: $out"
  [[ -s $tar ]] || fail "empty image archive"
  [[ ! -e $IMG_WORK/podman ]] || fail "build-image.sh left podman's storage in $IMG_WORK/podman"
  mkdir -p "$x"
  tar -C "$x" -xf "$tar"
  out=$(python3 - "$x" <<'PY'
import json, sys
d = sys.argv[1]
blob = lambda dg: json.load(open(f"{d}/blobs/{dg.replace(':', '/')}"))
idx = json.load(open(f"{d}/index.json"))
m = idx["manifests"][0]
man = blob(m["digest"])
cfg = blob(man["config"]["digest"])
print(m["annotations"].get("org.opencontainers.image.ref.name"), len(man["layers"]), cfg["config"]["Entrypoint"])
PY
) || fail "cannot read the image archive"
  assert_eq "reaper.test/reaper-node-installer:test 1 ['/opt/reaper/install-node.sh']" "$out" \
    "name, layers and entrypoint of the image"
  rm -rf "$x"
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
