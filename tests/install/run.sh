#!/usr/bin/env bash
# Installer tests: scripts/install-node.sh against scratch host roots (test_node.sh), the
# Ansible playbooks against localhost with a private containerd (test_ansible.sh), and the kind
# wrapper scripts/install-reaper.sh with stand-in docker/kind/kubectl (test_kind.sh).
#
#   tests/install/run.sh              # all tests
#   tests/install/run.sh 'node_.*'    # only tests whose name matches an ERE
#   tests/install/run.sh -l           # list test names
#
# Env: REAPER_BIN_DIR (default <repo>/build), E2E_KEEP=1 (keep the temp dir), E2E_VERBOSE=1.
# Uses tests/e2e/lib.sh (test registry, assertions, private containerd helpers, teardown).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/install/lib.sh
source "$here/lib.sh"

# shellcheck disable=SC2046
e2e_load_tests $(ls "$here"/test_*.sh) -- "$@"

for b in containerd-shim-reaper-v2 reaper-runtime reaper-overlay; do
  [[ -x $REAPER_BIN_DIR/$b ]] || die "$REAPER_BIN_DIR/$b not found (build it or set REAPER_BIN_DIR)"
done

e2e_install_trap
inst_setup
run_registered "$@"
e2e_summary
