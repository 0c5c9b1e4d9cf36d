#!/usr/bin/env bash
# install-reaper.sh: installs Reaper into every node of a kind cluster (docs/installation.md).
#
#   scripts/install-reaper.sh --kind CLUSTER [--bin-src DIR] [--no-label] [--uninstall]
#
# For each node of `kind get nodes --name CLUSTER`: `docker cp` the binaries, the default node
# config (deploy/reaper.toml), scripts/install-node.sh and scripts/installer/ into the node
# container, `docker exec` install-node.sh there (containerd restarted with systemctl inside the
# node when its config changed; the node image needs python3 with tomlkit, or use the
# installer DaemonSet, docs/kubernetes.md), remove the copies, then label the node
# node-restriction.kubernetes.io/reaper-v2=true with `kubectl --context kind-CLUSTER`.
# --uninstall runs install-node.sh --uninstall and removes the label. A thin wrapper: every node
# step is install-node.sh's.
#
# Needs docker, kind and kubectl on this machine. It is NOT run by the project's CI (the CI
# machines have no Docker engine and no kind); CI checks its syntax and --help only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cluster="" bin_src=$repo/build label=1 uninstall=0
stage=/tmp/reaper-install

log() { printf 'install-reaper: %s\n' "$*"; }
die() { printf 'install-reaper: ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while (($#)); do
  case $1 in
    --kind) cluster=${2:?--kind needs a cluster name}; shift ;;
    --bin-src) bin_src=${2:?--bin-src needs a directory}; shift ;;
    --no-label) label=0 ;;
    --uninstall) uninstall=1 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
[[ -n $cluster ]] || die "--kind CLUSTER is required (see --help)"
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || die "$tool not found in PATH"
done
files=("$repo/scripts/install-node.sh" "$repo/scripts/installer" "$repo/deploy/reaper.toml")
if ((!uninstall)); then
  for b in containerd-shim-reaper-v2 reaper-runtime reaper-overlay; do
    [[ -x $bin_src/$b ]] || die "$bin_src/$b not found (build first, or pass --bin-src)"
    files+=("$bin_src/$b")
  done
fi

mapfile -t nodes < <(kind get nodes --name "$cluster")
((${#nodes[@]})) || die "kind cluster '$cluster' has no nodes (kind get nodes --name $cluster)"

for node in "${nodes[@]}"; do
  log "node $node"
  docker exec "$node" rm -rf "$stage"
  docker exec "$node" mkdir -p "$stage"
  for f in "${files[@]}"; do
    docker cp "$f" "$node:$stage/${f##*/}" || die "docker cp $f to $node failed"
  done
  args=(--bin-src "$stage" --default-config "$stage/reaper.toml" --restart-cmd "systemctl restart containerd")
  ((uninstall)) && args+=(--uninstall)
  if ! docker exec "$node" "$stage/install-node.sh" "${args[@]}"; then
    docker exec "$node" rm -rf "$stage" || true
    die "install-node.sh failed on node $node"
  fi
  docker exec "$node" rm -rf "$stage"
  if ((label)); then
    if ((uninstall)); then
      kubectl --context "kind-$cluster" label node "$node" node-restriction.kubernetes.io/reaper-v2- --overwrite
    else
      kubectl --context "kind-$cluster" label node "$node" node-restriction.kubernetes.io/reaper-v2=true --overwrite
    fi
  fi
done
log "done: ${#nodes[@]} node(s) of kind cluster $cluster"
