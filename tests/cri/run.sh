#!/usr/bin/env bash
# Run the CRI end-to-end suite: a private containerd with its CRI plugin, pods driven by
# reaperctl the way kubelet drives CRI (tests/cri/lib.sh).
#
#   tests/cri/run.sh                 # all tests
#   tests/cri/run.sh 'exec.*'        # only tests whose name matches an ERE
#   tests/cri/run.sh -l              # list test names
#
# Env: REAPER_CONTAINERD (1.6, 2.0, 2.2, 2.3, 2.4; default main = CONTAINERD_MAIN of
# tests/peers/versions.env), REAPER_BIN_DIR (default <repo>/build), REAPERCTL, E2E_KEEP=1 (keep
# the temp dir with containerd.log and per-test logs), E2E_VERBOSE=1, CRI_FILES (test files,
# default tests/cri/test_*.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REAPER_CONTAINERD=${REAPER_CONTAINERD:-main}
# shellcheck source=tests/cri/lib.sh
source "$here/lib.sh"

# shellcheck disable=SC2046
e2e_load_tests ${CRI_FILES:-$(ls "$here"/test_*.sh)} -- "$@"

[[ -x $REAPER_BIN_DIR/containerd-shim-reaper-v2 ]] ||
  die "$REAPER_BIN_DIR/containerd-shim-reaper-v2 not found (build it or set REAPER_BIN_DIR)"

e2e_install_trap
cri_start

echo "CRI handler: $CRI_HANDLER"
run_registered "$@"

if (( E2E_FAILED > 0 )); then
  echo "containerd log: $E2E_DIR/containerd.log (set E2E_KEEP=1 to keep it)"
fi
e2e_summary
