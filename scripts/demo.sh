#!/usr/bin/env bash
# The main job: installs what is needed, builds, starts a private containerd (with its CRI
# plugin, the code kubelet talks to) in a scratch directory with the Reaper runtime handler
# `reaper-v2`, runs the example Pod examples/hello.yaml with reaperctl (the kubelet
# stand-in), prints its log and exit status, and cleans up everything it started.
# The system containerd (/run/containerd/containerd.sock) is never touched.
#
#   scripts/demo.sh                      # examples/hello.yaml
#   scripts/demo.sh examples/other.yaml  # another Pod manifest
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $EUID -eq 0 ]] || { echo "demo: run as root (it starts a private containerd)" >&2; exit 1; }
pod=${1:-$repo/examples/hello.yaml}
"$repo/scripts/install-deps.sh"
"$repo/scripts/build.sh" >/dev/null
export REAPER_BIN_DIR=${REAPER_BUILD_DIR:-$repo/build}
export REAPERCTL=$REAPER_BIN_DIR/tools/reaperctl/reaperctl
# shellcheck source=tests/cri/lib.sh
source "$repo/tests/cri/lib.sh"
e2e_install_trap
cri_start
echo "--- reaperctl run -f ${pod#"$repo"/}  (runtimeClassName reaper-v2: runs on this host)"
set +e
CRI_RPC_TIMEOUT=120 rctl run --rm -f "$pod"
status=$?
set -e
echo "--- exit status: $status"
exit "$status"
