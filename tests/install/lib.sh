# shellcheck shell=bash
# Helpers of the installer tests (tests/install/run.sh). Builds on tests/e2e/lib.sh.

INST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$INST_LIB_DIR/../e2e/lib.sh"

INSTALL_NODE=${INSTALL_NODE:-$REPO/scripts/install-node.sh}
# shellcheck disable=SC2034  # used by the test files
DEFAULT_TOML=$REPO/deploy/reaper.toml
# shellcheck disable=SC2034
BINARIES=(containerd-shim-reaper-v2 reaper-runtime reaper-overlay)

# The run's temp dir, without a containerd (test_ansible.sh starts its own); the EXIT trap
# (e2e_stop_containerd) kills leftover shims and workloads of this dir and removes it.
inst_setup() {
  E2E_DIR=$(mktemp -d /tmp/reaper-e2e.XXXX)
  E2E_RUNID=$(printf '%s' "${E2E_DIR##*.}" | tr '[:upper:]' '[:lower:]')
  E2E_ADDR=$E2E_DIR/containerd.sock
  E2E_STATE=$E2E_DIR/state
  mkdir -p "$E2E_DIR/logs" "$E2E_DIR/tmp" "$E2E_DIR/fake-bin"
  # small stand-ins: most scratch-root tests need files to install, not 26 MB of real binaries
  local b
  for b in "${BINARIES[@]}"; do
    printf '#!/bin/sh\necho "stand-in %s"\n' "$b" >"$E2E_DIR/fake-bin/$b"
    chmod 0755 "$E2E_DIR/fake-bin/$b"
  done
  log "installer tests in $E2E_DIR (binaries from $REAPER_BIN_DIR)"
}

# new_root [SERIES]: a scratch host root holding only a containerd binary (the installer runs it
# chrooted into the root to check every config): Debian's 1.6 by default, or the 2.x SERIES
# built by tests/peers/build.sh. Hard links where possible (same filesystem), else copies.
new_root() {
  local r bin
  r=$(mktemp -d "$E2E_DIR/root.XXXX")
  bin=$(inst_containerd_bin "${1:-1.6}")
  put_program "$r" "$bin" /usr/bin/containerd
  echo "$r"
}

# inst_containerd_bin SERIES: the containerd binary of a release (1.6: Debian's)
inst_containerd_bin() {
  local dir
  if [[ $1 == 1.6 ]]; then command -v containerd; return; fi
  dir=$(REAPER_PEERS_DIR=${REAPER_PEERS_DIR:-$REPO/build/peers} "$REPO/tests/peers/build.sh" --path "containerd-$1") ||
    die "cannot build containerd $1"
  echo "$dir/containerd"
}

# put_program ROOT BIN NODE_PATH: BIN at NODE_PATH in ROOT, with the shared libraries it needs
put_program() {
  local r=$1 bin=$2 dst=$3 lib
  mkdir -p "$r$(dirname "$dst")"
  cp -l "$bin" "$r$dst" 2>/dev/null || cp "$bin" "$r$dst"
  for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [[ -e $r$lib ]] && continue
    mkdir -p "$r$(dirname "$lib")"
    cp -l "$lib" "$r$lib" 2>/dev/null || cp "$lib" "$r$lib"
  done
}

# tree_of DIR: every entry with type and mode (what "nothing else left" compares)
tree_of() { find "$1" -mindepth 1 -printf '%P %y %m\n' | sort; }

# sums_of DIR: every file with its inode and content hash (what "no-op" compares)
sums_of() {
  local f
  find "$1" -type f -printf '%P\n' | sort | while read -r f; do
    printf '%s %s %s\n' "$f" "$(stat -c %i "$1/$f")" "$(sha256sum <"$1/$f" | cut -d' ' -f1)"
  done
}

# inst ROOT ARGS...: install-node.sh against ROOT with the stand-in binaries (--bin-src in ARGS
# overrides them); "restarts" are lines in ROOT.restarts
inst() {
  local root=$1
  shift
  "$INSTALL_NODE" --root "$root" --bin-src "$E2E_DIR/fake-bin" --restart-cmd "echo restart >>$root.restarts" "$@"
}
restarts() { if [[ -f $1.restarts ]]; then wc -l <"$1.restarts"; else echo 0; fi; }

# The block install-node.sh must append, written out here independently of the script.
# expected_block VERSION [WITH_RUNC] [BIN_DIR]
expected_block() {
  local p='plugins."io.containerd.grpc.v1.cri".containerd.runtimes'
  [[ $1 == 2 ]] || p='plugins."io.containerd.cri.v1.runtime".containerd.runtimes'
  echo '# BEGIN reaper (managed by scripts/install-node.sh; --uninstall removes this block)'
  echo "[$p.reaper-v2]"
  echo '  runtime_type = "io.containerd.reaper.v2"'
  echo "  runtime_path = \"${3:-/usr/local/bin}/containerd-shim-reaper-v2\""
  echo '  pod_annotations = ["reaper.runtime/*"]'
  if [[ ${2:-0} == 1 ]]; then
    echo "# containerd replaces its built-in runtimes by the file's: keep runc"
    echo "[$p.runc]"
    echo '  runtime_type = "io.containerd.runc.v2"'
  fi
  echo '# END reaper'
}

# A production-like containerd 1.6/1.7 config: other runtimes with options, registry mirrors,
# comments. sample_cri_v2 prints the CRI part only (test_ansible.sh adds it to a private config).
sample_cri_v2() {
  cat <<'EOF2'
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "registry.k8s.io/pause:3.9"   # pinned by the platform team
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      snapshotter = "overlayfs"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            SystemdCgroup = true
            BinaryName = "/usr/sbin/runc"
        # sandboxed workloads
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]
          runtime_type = "io.containerd.kata.v2"
          privileged_without_host_devices = true
          pod_annotations = ["io.katacontainers.*"]
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options]
            ConfigPath = "/opt/kata/share/defaults/kata-containers/configuration.toml"
    [plugins."io.containerd.grpc.v1.cri".registry]
      [plugins."io.containerd.grpc.v1.cri".registry.mirrors]
        [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
          endpoint = ["https://mirror.example.com", "https://registry-1.docker.io"]
# last line: a comment that must stay
EOF2
}

sample_v2() {
  printf '# containerd config of a production node\nversion = 2\nroot = "/var/lib/containerd"\noom_score = -999\n\n'
  printf '[grpc]\n  address = "/run/containerd/containerd.sock"\n\n'
  sample_cri_v2
}

# variants for byte-exact round trips
sample_v2_no_newline() { sample_v2 | head -c -1; }
sample_v2_blank_tail() { sample_v2; printf '\n\n'; }

# containerd 2.x (config version 3)
sample_v3() {
  cat <<'EOF2'
version = 3
root = "/var/lib/containerd"

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = "/etc/containerd/certs.d"
  [plugins.'io.containerd.cri.v1.runtime']
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
          runtime_type = 'io.containerd.runc.v2'
          [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
            SystemdCgroup = true
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.gvisor]
          runtime_type = 'io.containerd.runsc.v1'
EOF2
}

# put_config ROOT: writes sample_v2 as ROOT/etc/containerd/config.toml (mode 0640) and a copy
# of it as ROOT.orig; prints the config's path.
put_config() {
  local root=$1 gen=${2:-sample_v2}
  mkdir -p "$root/etc/containerd"
  "$gen" >"$root/etc/containerd/config.toml"
  chmod 0640 "$root/etc/containerd/config.toml"
  cp -p "$root/etc/containerd/config.toml" "$root.orig"
  echo "$root/etc/containerd/config.toml"
}

# dump_config FILE: the config as containerd 1.6 reads it (defaults merged in)
dump_config() { containerd --config "$1" config dump 2>&1; }
