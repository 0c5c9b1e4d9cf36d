# shellcheck shell=bash
# CRI end-to-end test library: a PRIVATE containerd with its CRI plugin enabled (runtime handler
# reaper-v2 -> io.containerd.reaper.v2), driven by reaperctl the way kubelet drives CRI.
#
# It builds on tests/e2e/lib.sh (helpers: wait_until, assertions, test registry, process
# discovery by PID, the busybox image builder, teardown) and replaces three of its functions:
#   e2e_write_config             -> a config with the CRI plugin enabled
#   e2e_cleanup_all_containers   -> removes this run's pods through CRI (reaperctl rm --all)
#   cleanup_container <pod>      -> tests `track` POD names; cleanup removes the pod via CRI
# The system containerd is never touched: everything lives in /tmp/reaper-e2e.XXXX.
#
# Environment knobs (besides those of tests/e2e/lib.sh):
#   REAPERCTL        reaperctl binary (default $REAPER_BIN_DIR/tools/reaperctl/reaperctl)
#   CRI_HANDLER      runtime handler for pods (default reaper-v2)
#   CRI_RPC_TIMEOUT  seconds after which a reaperctl call is killed (default 120)
#   CRI_SANDBOX_IMAGE  the sandbox (pause) image. Default: the placeholder image $E2E_IMAGE,
#                    whose /bin/sh exits at once (Reaper never runs the sandbox image; runc's
#                    pods need a live one: cri_start imports CRI_SANDBOX_IMAGE, when set, as the
#                    placeholder image whose command is a long sleep; CRI_SANDBOX_IMPORT=0: it
#                    is pulled instead)
#   CRI_REGISTRY_CONFIG_PATH  a hosts.toml directory for the image service (default: none)
#   CRI_RUNTIME_OPTIONS  TOML lines of an [options] table on the reaper-v2 runtime (default none)
#
# The config is written in the version REAPER_CONTAINERD's release expects (tests/e2e/lib.sh):
# version 2 with plugins."io.containerd.grpc.v1.cri" for 1.6; 3 (2.0-2.2) or 4 (2.3+) with the
# runtimes under plugins."io.containerd.cri.v1.runtime" and images under
# plugins."io.containerd.cri.v1.images". Both handlers pass the reaper.runtime/* pod
# annotations (pod_annotations), as docs/installation.md tells operators to configure.

CRI_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$CRI_LIB_DIR/../e2e/lib.sh"

E2E_NS=k8s.io   # CRI's containerd namespace: the image must be imported there
REAPERCTL=${REAPERCTL:-$REAPER_BIN_DIR/tools/reaperctl/reaperctl}
CRI_HANDLER=${CRI_HANDLER:-reaper-v2}
CRI_RPC_TIMEOUT=${CRI_RPC_TIMEOUT:-120}
CRI_STREAM_PORT=""

# A TCP port nobody listens on (best effort; containerd's start is retried if it is taken).
cri_free_port() {
  local port hex
  for _ in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 40000 ))
    hex=$(printf ':%04X ' "$port")
    if ! grep -qF "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

e2e_write_config() {
  mkdir -p "$E2E_DIR/cni/bin" "$E2E_DIR/cni/conf" "$E2E_DIR/pod-logs" "$E2E_DIR/reaperctl"
  CRI_STREAM_PORT=$(cri_free_port) || die "no free TCP port for the CRI streaming server"
  { e2e_config_common cri; echo; cri_config; } >"$E2E_DIR/config.toml"
}

# cri_config: the CRI part of the config, in the selected release's config version.
cri_config() {
  local image=${CRI_SANDBOX_IMAGE:-$E2E_IMAGE} runtime bin_dir
  if is_containerd_1x; then
    runtime='plugins."io.containerd.grpc.v1.cri"'
    cat <<EOF
[$runtime]
  sandbox_image = "$image"
  stream_server_address = "127.0.0.1"
  stream_server_port = "$CRI_STREAM_PORT"
EOF
    bin_dir="bin_dir = \"$E2E_DIR/cni/bin\""
  else
    runtime='plugins."io.containerd.cri.v1.runtime"'
    local images='plugins."io.containerd.cri.v1.images"'
    cat <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "$CRI_STREAM_PORT"

[$images]
  [$images.pinned_images]
    sandbox = "$image"
EOF
    if [[ -n ${CRI_REGISTRY_CONFIG_PATH:-} ]]; then
      printf '  [%s.registry]\n    config_path = "%s"\n' "$images" "$CRI_REGISTRY_CONFIG_PATH"
    fi
    printf '\n[%s]\n' "$runtime"
    # cni.bin_dir is deprecated from 2.1 on, in favour of bin_dirs
    bin_dir="bin_dirs = [\"$E2E_DIR/cni/bin\"]"
    [[ $E2E_CONTAINERD_SERIES != 2.0 ]] || bin_dir="bin_dir = \"$E2E_DIR/cni/bin\""
  fi
  cat <<EOF
  restrict_oom_score_adj = true
  enable_selinux = false
  [$runtime.cni]
    $bin_dir
    conf_dir = "$E2E_DIR/cni/conf"
  [$runtime.containerd]
    default_runtime_name = "runc"
    [$runtime.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["reaper.runtime/*"]
    [$runtime.containerd.runtimes.reaper-v2]
      runtime_type = "io.containerd.reaper.v2"
      pod_annotations = ["reaper.runtime/*"]
EOF
  if [[ -n ${CRI_RUNTIME_OPTIONS:-} ]]; then
    printf '      [%s.containerd.runtimes.reaper-v2.options]\n' "$runtime"
    printf '%s\n' "$CRI_RUNTIME_OPTIONS" | sed 's/^/        /'
  fi
  if is_containerd_1x && [[ -n ${CRI_REGISTRY_CONFIG_PATH:-} ]]; then
    printf '  [%s.registry]\n    config_path = "%s"\n' "$runtime" "$CRI_REGISTRY_CONFIG_PATH"
  fi
}

# rctl ARGS...: reaperctl against our containerd, with our log/state roots and image.
rctl() {
  timeout -k 5 "$CRI_RPC_TIMEOUT" "$REAPERCTL" --runtime-endpoint "unix://$E2E_ADDR" \
    --default-image "$E2E_IMAGE" --log-root "$E2E_DIR/pod-logs" --root "$E2E_DIR/reaperctl" "$@"
}

cri_answers() { CRI_RPC_TIMEOUT=10 rctl info >/dev/null 2>&1; }

cri_start() {
  [[ -x $REAPERCTL ]] || die "$REAPERCTL not found (build it, or set REAPERCTL)"
  local attempt
  for attempt in 1 2 3; do
    e2e_start_containerd
    if wait_until 30 cri_answers && wait_until 10 grep -q "Start streaming server" "$E2E_DIR/containerd.log" &&
       ! grep -qi "failed to start streaming server" "$E2E_DIR/containerd.log"; then
      break
    fi
    log "CRI plugin not ready (attempt $attempt):"
    grep -iE 'cri|stream' "$E2E_DIR/containerd.log" | tail -n 5 >&2 || true
    (( attempt < 3 )) || die "the CRI plugin of the private containerd did not come up"
    e2e_stop_containerd
  done
  # a private copy, like the shim's: a rebuild during the run cannot break it
  [[ $REAPERCTL -ef $E2E_DIR/bin/reaperctl ]] || cp "$REAPERCTL" "$E2E_DIR/bin/reaperctl" ||
    die "cannot copy $REAPERCTL"
  REAPERCTL=$E2E_DIR/bin/reaperctl
  cri_import_image
  if [[ -n ${CRI_SANDBOX_IMAGE:-} && $CRI_SANDBOX_IMAGE != "$E2E_IMAGE" && ${CRI_SANDBOX_IMPORT:-1} == 1 ]]; then
    cri_import_image "$CRI_SANDBOX_IMAGE" '["/bin/sleep","2147483647"]'
  fi
  log "CRI ready (streaming server 127.0.0.1:$CRI_STREAM_PORT, handler $CRI_HANDLER)"
}

# cri_import_image [NAME CMD-JSON]: the placeholder image (tests/e2e/lib.sh's busybox image,
# default $E2E_IMAGE with /bin/sh) in namespace k8s.io, where CRI finds it both as the sandbox
# image and as the image of containers without one. (Not e2e_build_image: its `ls | grep -q`
# check races with pipefail once CRI adds a second ref.)
cri_import_image() {
  local name=${1:-$E2E_IMAGE} cmd=${2:-}
  local tarball=$E2E_DIR/${name//[^a-z0-9]/_}.oci.tar refs
  [[ -f $tarball ]] || e2e_build_image_tarball "$tarball" "$name" "$cmd"
  ctrp images import --all-platforms "$tarball" >"$E2E_DIR/logs/image-import.log" 2>&1 ||
    { cat "$E2E_DIR/logs/image-import.log" >&2; die "ctr images import failed"; }
  refs=$(ctrp images ls -q)
  grep -qxF "$name" <<<"$refs" || die "image $name not listed after import"
  log "image $name imported into namespace $E2E_NS"
}

# Pods of this run are all created by reaperctl: remove them through CRI first, then let the
# generic teardown kill whatever is left by PID.
e2e_cleanup_all_containers() {
  CRI_RPC_TIMEOUT=60 rctl -q rm --all -f >/dev/null 2>&1 || log "teardown: reaperctl rm --all failed"
}

# Tests `track` pod names; the per-test safety net removes them.
cleanup_container() {
  local out
  out=$(CRI_RPC_TIMEOUT=60 rctl -q rm -f "$1" 2>&1) || [[ $out == *"not found"* ]] ||
    echo "cleanup pod $1: $out" >&2
  return 0
}

# ---------------------------------------------------------------------------
# Pod network (CNI). The CRI plugin's conf_dir ($E2E_DIR/cni/conf) starts empty, so CRI reports
# NetworkReady=false and reaperctl refuses pods without hostNetwork. cri_cni_enable installs the
# fake plugin tests/cri/reaper-test-cni (answers the CNI protocol, configures nothing; also as
# "loopback", which containerd's CRI always adds) and a conflist, and waits for NetworkReady;
# cri_cni_disable removes the conflist and waits for NetworkReady=false. Remove the pods that
# used the network first: their StopPodSandbox calls CNI DEL. Plugin calls are logged to
# cri_cni_log ("COMMAND container-id ifname netns" per line).

cri_cni_log() { echo "$E2E_DIR/cni/calls.log"; }
cri_network_is() { [[ $(CRI_RPC_TIMEOUT=10 rctl info 2>/dev/null) == *"condition NetworkReady=$1"* ]]; }

# libcni (in containerd) caches results in /var/lib/cni; if this run creates it, cri_cni_disable
# removes it again once empty.
CRI_CNI_CACHE=/var/lib/cni
CRI_CNI_CACHE_EXISTED=""

cri_cni_enable() {
  local bin=$E2E_DIR/cni/bin conf=$E2E_DIR/cni/conf
  if [[ -z $CRI_CNI_CACHE_EXISTED ]]; then
    CRI_CNI_CACHE_EXISTED=$([[ -e $CRI_CNI_CACHE ]] && echo yes || echo no)
  fi
  install -m 0755 "$CRI_LIB_DIR/reaper-test-cni" "$bin/reaper-test-cni"
  ln -sf reaper-test-cni "$bin/loopback"
  touch "$(cri_cni_log)"
  # Written in place with one write(): containerd 1.6's conf syncer ignores CREATE (and so a
  # rename into the dir) and reloads on WRITE.
  printf '{"cniVersion": "1.0.0", "name": "reaper-test", "plugins": [{"type": "reaper-test-cni"}]}\n' \
    >"$conf/10-reaper-test.conflist"
  wait_until 20 cri_network_is true || { log "CRI NetworkReady still false with $conf"; return 1; }
}

cri_cni_disable() {
  rm -f "$E2E_DIR/cni/conf/10-reaper-test.conflist"
  if [[ $CRI_CNI_CACHE_EXISTED == no ]]; then
    rmdir "$CRI_CNI_CACHE/results" "$CRI_CNI_CACHE" 2>/dev/null || true
  fi
  wait_until 20 cri_network_is false || { log "CRI NetworkReady still true"; return 1; }
}

# ---------------------------------------------------------------------------
# Pod helpers.

# pod_name <suffix>: a pod name unique to this run.
pod_name() { echo "t-$E2E_RUNID-$1"; }

# write_pod <file> <name> <restartPolicy> <containers-yaml> [init-containers-yaml]
# Writes a hostNetwork Pod on our handler. Container YAML is indented by 2 (list items "- name").
# Volume "data" is the host's $E2E_DIR/data (pods see the node's files through Reaper's overlay,
# but files the host creates later are only reliably visible through a volume).
write_pod() {
  local file=$1 name=$2 policy=$3 containers=$4 inits=${5:-}
  {
    printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n' "$name"
    printf '  runtimeClassName: %s\n  hostNetwork: true\n  restartPolicy: %s\n' \
      "$CRI_HANDLER" "$policy"
    printf '  volumes:\n  - name: data\n    hostPath: {path: "%s", type: Directory}\n' \
      "$E2E_DIR/data"
    if [[ -n $inits ]]; then printf '  initContainers:\n%s\n' "$inits"; fi
    printf '  containers:\n%s\n' "$containers"
  } >"$file"
}

# container_yaml <name> <shell command>: one container running `sh -c CMD`, marked with
# E2E_MARK so leftovers can be found by PID, with volume "data" at $E2E_DIR/data.
container_yaml() {
  local name=$1 cmd=$2
  cmd=${cmd//\\/\\\\}
  cmd=${cmd//\"/\\\"}
  printf '  - name: %s\n    command: ["/bin/sh", "-c", "%s"]\n    env: [{name: E2E_MARK, value: "%s"}]\n    volumeMounts: [{name: data, mountPath: "%s"}]\n' \
    "$name" "$cmd" "$E2E_DIR" "$E2E_DIR/data"
}

# inspect_field <pod> <container> <field>: a key=value field of `reaperctl inspect` for the
# latest attempt of a container ("pod" as container name: the pod line).
inspect_field() {
  local pod=$1 ctr=$2 field=$3
  rctl inspect "$pod" | awk -v c="$ctr" -v f="$field" '
    ($1 == "pod" && c == "pod") || ($1 == "container" && $2 == "name=" c) {
      for (i = 2; i <= NF; i++) if (index($i, f "=") == 1) v = substr($i, length(f) + 2)
    }
    END { print v }'
}

container_state_is() { [[ $(inspect_field "$1" "$2" state) == "$3" ]]; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Shims that serve this run's containerd (from tests/e2e/lib.sh).
shim_count() { e2e_shim_count; }
