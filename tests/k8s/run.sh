#!/usr/bin/env bash
# Run the Kubernetes suite: a real one-node cluster on loopback (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, containerd 2.3 with Reaper installed by
# scripts/install-node.sh), driven with kubectl only (tests/k8s/lib.sh). One cluster per run;
# the fault tests restart kubelet and containerd inside it.
#
#   tests/k8s/run.sh                 # all tests
#   tests/k8s/run.sh 'exec|logs'     # only tests whose name matches an ERE
#   tests/k8s/run.sh -l              # list test names
#
# The peers (Kubernetes, etcd, containerd) are built on first use by tests/peers/build.sh into
# $REAPER_PEERS_DIR (default <repo>/build/peers; 15-40 min the first time on 2 cores).
# Env: REAPER_BIN_DIR (default <repo>/build), REAPER_PEERS_DIR, E2E_KEEP=1 (keep the temp dir
# with every component's log), E2E_VERBOSE=1, K8S_FILES (test files, default tests/k8s/test_*.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/k8s/lib.sh
source "$here/lib.sh"

# shellcheck disable=SC2046
e2e_load_tests ${K8S_FILES:-$(ls "$here"/test_*.sh)} -- "$@"

[[ -x $REAPER_BIN_DIR/containerd-shim-reaper-v2 ]] ||
  die "$REAPER_BIN_DIR/containerd-shim-reaper-v2 not found (build it or set REAPER_BIN_DIR)"

t0=$SECONDS
k8s_install_trap
k8s_start
echo "cluster: node $K8S_NODE, containerd $K8S_CONTAINERD_VERSION, started in $((SECONDS - t0)) s"
run_registered "$@"
# always last: nothing of the run's pods is left once kubelet's garbage collection ran
run_test node_clean_after_gc t_node_clean_after_gc
if (( E2E_FAILED > 0 )); then
  echo "component logs: $E2E_DIR/logs (set E2E_KEEP=1 to keep them)"
fi
echo "suite time: $((SECONDS - t0)) s"
e2e_summary
