#!/usr/bin/env bash
# One tier of the containerd version matrix (issue 13): the smoke tests through CRI
# (tests/matrix/test_smoke.sh, the terminal tests of tests/cri/test_interactive.sh and the pod
# annotation tests of tests/cri/test_annotations.sh) against a private containerd of one release,
# configured in that release's config version (tests/cri/lib.sh).
#
#   tests/matrix/run.sh 2.0             # the tier of containerd 2.0 (1.6, 2.0, 2.2, 2.3, 2.4)
#   tests/matrix/run.sh 2.3+options     # 2.3 with an [options] table on the reaper-v2 runtime
#   tests/matrix/run.sh 2.2 'smoke_.*'  # only tests whose name matches an ERE
#   tests/matrix/run.sh 2.2 -l          # list test names
#
# 2.x binaries come from tests/peers/build.sh (built once per pinned version into the peer cache,
# REAPER_PEERS_DIR); 1.6 is Debian's package. The full suites (tests/e2e, tests/cri) run on the
# main version (CONTAINERD_MAIN); this tier is what every other supported release runs.
# Env: REAPER_BIN_DIR (default <repo>/build), REAPERCTL, E2E_KEEP=1, E2E_VERBOSE=1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tier=${1:-}
[[ -n $tier ]] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
shift
case $tier in
  *+options)
    # What an operator may copy from a runc entry; 2.0-2.2 send it to `start` as the options
    # Any, 2.3 inside BootstrapParams.extensions, and every Create carries it.
    export CRI_RUNTIME_OPTIONS='SystemdCgroup = false'
    tier=${tier%+options}
    ;;
esac
export REAPER_CONTAINERD=$tier
# runc's pods need a sandbox image that keeps running (Reaper never runs it)
export CRI_SANDBOX_IMAGE=docker.io/library/reaper-test-pause:latest

# shellcheck source=tests/cri/lib.sh
source "$here/../cri/lib.sh"
# shellcheck source=tests/matrix/test_smoke.sh
source "$here/test_smoke.sh"
# shellcheck source=tests/cri/test_annotations.sh
source "$here/../cri/test_annotations.sh"
# shellcheck source=tests/cri/test_interactive.sh
source "$here/../cri/test_interactive.sh"
matrix_register_final
e2e_load_tests -- "$@"

[[ -x $REAPER_BIN_DIR/containerd-shim-reaper-v2 ]] ||
  die "$REAPER_BIN_DIR/containerd-shim-reaper-v2 not found (build it or set REAPER_BIN_DIR)"

t0=$SECONDS
e2e_install_trap
cri_start
echo "containerd $E2E_CONTAINERD_VERSION (config version $E2E_CONFIG_VERSION${CRI_RUNTIME_OPTIONS:+, [options] table on reaper-v2}), CRI handler $CRI_HANDLER"
run_registered "$@"
echo "tier $tier${CRI_RUNTIME_OPTIONS:++options}: $((SECONDS - t0)) s"
if (( E2E_FAILED > 0 )); then
  echo "containerd log: $E2E_DIR/containerd.log (set E2E_KEEP=1 to keep it)"
fi
e2e_summary
