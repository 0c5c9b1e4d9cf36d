#!/usr/bin/env bash
# Run the reaper end-to-end suite against a private containerd.
#
#   tests/e2e/run.sh                 # all tests, runtime io.containerd.reaper.v2
#   tests/e2e/run.sh echo 'sig.*'    # only tests whose name matches an ERE
#   RUNTIME=io.containerd.runc.v2 tests/e2e/run.sh   # validate harness with runc
#   tests/e2e/run.sh -l              # list test names
#
# Env: REAPER_CONTAINERD (1.6, 2.0, 2.2, 2.3, 2.4; default main = CONTAINERD_MAIN of
# tests/peers/versions.env), RUNTIME, REAPER_BIN_DIR (default <repo>/build), E2E_KEEP=1 (keep the
# temp dir with containerd.log and per-test logs), E2E_VERBOSE=1,
# E2E_FILES (space-separated test files, default tests/e2e/test_*.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REAPER_CONTAINERD=${REAPER_CONTAINERD:-main}
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"

# shellcheck disable=SC2046
e2e_load_tests ${E2E_FILES:-$(ls "$here"/test_*.sh)} -- "$@"

if [[ $RUNTIME == io.containerd.reaper.v2 && ! -x $REAPER_BIN_DIR/containerd-shim-reaper-v2 ]]; then
  die "$REAPER_BIN_DIR/containerd-shim-reaper-v2 not found (build it, set REAPER_BIN_DIR, or use RUNTIME=io.containerd.runc.v2)"
fi

e2e_install_trap
e2e_start_containerd
e2e_build_image

echo "runtime: $RUNTIME"
run_registered "$@"

if (( E2E_FAILED > 0 )); then
  echo "containerd log: $E2E_DIR/containerd.log (set E2E_KEEP=1 to keep it)"
fi
e2e_summary
