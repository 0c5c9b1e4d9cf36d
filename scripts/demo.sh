#!/usr/bin/env bash
# The main job: installs what is needed, builds, starts a private containerd (with its CRI
# plugin, the code kubelet talks to) in a scratch directory with the Reaper runtime handler
# `reaper-v2`, runs the example Pod examples/hello.yaml with reaperctl (the kubelet
# stand-in), prints its log and exit status, and cleans up everything it started.
# The system containerd (/run/containerd/containerd.sock) is never touched.
#
#   scripts/demo.sh                      # examples/hello.yaml
#   scripts/demo.sh examples/other.yaml  # another Pod manifest
#   scripts/demo.sh --kubernetes [POD.yaml]
#       the same Pod through a real one-node Kubernetes cluster on this machine (etcd,
#       kube-apiserver, controller-manager, scheduler, kubelet, containerd 2.3; Reaper installed
#       by scripts/install-node.sh; tests/k8s/lib.sh) with kubectl: apply, wait, logs, delete.
#       The first run builds the pinned Kubernetes, etcd and containerd from their Go modules
#       (tests/peers/build.sh; 15-40 min on 2 cores, cached in build/peers or $REAPER_PEERS_DIR).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $EUID -eq 0 ]] || { echo "demo: run as root (it starts a private containerd)" >&2; exit 1; }
kubernetes=0
if [[ ${1:-} == --kubernetes ]]; then kubernetes=1; shift; fi
pod=${1:-$repo/examples/hello.yaml}
"$repo/scripts/install-deps.sh"
"$repo/scripts/build.sh" >/dev/null
export REAPER_BIN_DIR=${REAPER_BUILD_DIR:-$repo/build}
if ((kubernetes)); then
  # shellcheck source=tests/k8s/lib.sh
  source "$repo/tests/k8s/lib.sh"
  k8s_install_trap
  k8s_start
  name=$(kc create --dry-run=client -f "$pod" -o 'jsonpath={.metadata.name}')
  echo "--- kubectl apply -f ${pod#"$repo"/}  (runtimeClassName reaper-v2: runs on this host)"
  # Kubernetes wants an image on every container; Reaper does not use its files, and this node
  # has no registry: every container gets the node's local image.
  kc set image --local -f "$pod" "*=$E2E_IMAGE" -o yaml | kcn apply -f -
  kcn wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$name" --timeout=120s >/dev/null ||
    kcn wait --for=jsonpath='{.status.phase}'=Failed "pod/$name" --timeout=5s >/dev/null || true
  echo "--- kubectl get pod $name -o wide"
  kcn get pod "$name" -o wide
  echo "--- kubectl logs $name"
  kcn logs "$name"
  status=$(kcn get pod "$name" -o 'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}')
  kcn delete pod "$name" --wait=true >/dev/null
  echo "--- exit status: ${status:-unknown}"
  exit "${status:-1}"
fi
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
