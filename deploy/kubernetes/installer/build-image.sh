#!/usr/bin/env bash
# Builds the installer image offline and saves it as an OCI archive, ready for
# `ctr -n k8s.io images import` on a node or a push to a registry:
#
#   build-image.sh OUT.tar --bin-src DIR --crictl PATH --kubectl PATH [--tag NAME:TAG] [--work DIR]
#
# stage.sh assembles the root filesystem, podman builds the Containerfile FROM scratch with no
# network and private storage (vfs, cgroupfs, no events) under --work (default: a temp dir,
# removed afterwards), then saves the image under --tag (default
# reaper-node-installer:0.1.0, the name deploy/kubernetes uses). The archive's index names the
# image by the full tag, so ctr import lists it under that name. Needs root (podman's storage)
# and Debian's podman, busybox-static, python3-tomlkit (scripts/install-deps.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "build-image.sh: ERROR: $*" >&2; exit 1; }
[[ $# -ge 1 && $1 != -* ]] || die "usage: build-image.sh OUT.tar --bin-src DIR --crictl PATH --kubectl PATH [--tag NAME:TAG] [--work DIR]"
out=$1; shift
tag=reaper-node-installer:0.1.0 work="" stage_args=()
while (($#)); do
  case $1 in
    --bin-src | --crictl | --kubectl) [[ $# -ge 2 ]] || die "$1 needs a value"; stage_args+=("$1" "$2"); shift ;;
    --tag) [[ $# -ge 2 ]] || die "--tag needs a value"; tag=$2; shift ;;
    --work) [[ $# -ge 2 ]] || die "--work needs a value"; work=$2; shift ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done
command -v podman >/dev/null || die "podman not installed (scripts/install-deps.sh)"
own_work=""
if [[ -z $work ]]; then
  work=$(mktemp -d /tmp/reaper-image.XXXX)
  own_work=$work
fi
cleanup() {
  [[ -z $own_work ]] || rm -rf "$own_work"
}
trap cleanup EXIT
mkdir -p "$work"
[[ -d $work/ctx && -x $work/ctx/opt/reaper/install-node.sh ]] || "$here/stage.sh" "$work/ctx" "${stage_args[@]}" >/dev/null
p=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver vfs
   --cgroup-manager cgroupfs --events-backend none)
log=$work/podman-build.log
"${p[@]}" build --pull=never --network none -f "$here/Containerfile" -t "$tag" "$work/ctx" >"$log" 2>&1 ||
  die "podman build failed: $(tail -n 20 "$log")"
rm -f "$out"
"${p[@]}" save --format oci-archive -o "$out" "$tag" >>"$log" 2>&1 || die "podman save failed: $(tail -n 5 "$log")"
"${p[@]}" rmi -f "$tag" >/dev/null 2>&1 || true
# podman's vfs layers are whole copies of the root filesystem: never leave them behind
rm -rf "$work/podman"
echo "build-image.sh: $tag saved in $out ($(du -h "$out" | cut -f1))"
