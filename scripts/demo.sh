#!/usr/bin/env bash
# The main job: installs what is needed, builds, starts a private containerd in a scratch
# directory with the Reaper runtime, runs the example on the host through the Reaper shim,
# prints its output and exit status, and cleans up everything it started.
# The system containerd (/run/containerd/containerd.sock) is never touched.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $EUID -eq 0 ]] || { echo "demo: run as root (it starts a private containerd)" >&2; exit 1; }
"$repo/scripts/install-deps.sh"
"$repo/scripts/build.sh" >/dev/null
export REAPER_BIN_DIR=${REAPER_BUILD_DIR:-$repo/build}
# shellcheck source=tests/e2e/lib.sh
source "$repo/tests/e2e/lib.sh"
e2e_install_trap
e2e_start_containerd
e2e_build_image
cmd=${*:-echo Hello from host && uname -a}
echo "--- running on the host through containerd-shim-reaper-v2: $cmd"
set +e
ctrp run --rm --runtime io.containerd.reaper.v2 "$E2E_IMAGE" "demo-$E2E_RUNID" /bin/sh -c "$cmd"
status=$?
set -e
echo "--- exit status: $status"
exit "$status"
