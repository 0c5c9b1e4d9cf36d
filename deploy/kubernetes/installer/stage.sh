#!/usr/bin/env bash
# Assembles the build context of the installer image (Containerfile next to this file):
#
#   stage.sh OUT --bin-src DIR --crictl PATH --kubectl PATH
#
# OUT gets a whole root filesystem: /bin/busybox (static; sh, sleep, nsenter, chroot as links),
# /usr/bin/python3 with exactly the shared libraries ldd names and the standard library (no
# tests, no tkinter), tomlkit, /opt/reaper/{install-node.sh,installer/,reaper.toml} and
# /opt/reaper/bin/{containerd-shim-reaper-v2,reaper-runtime,reaper-overlay,crictl,kubectl}.
# Everything comes from this machine (Debian packages, the build, the Go peers): no network.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
out="" bin_src="" crictl="" kubectl=""
die() { echo "stage.sh: ERROR: $*" >&2; exit 1; }
[[ $# -ge 1 ]] || die "usage: stage.sh OUT --bin-src DIR --crictl PATH --kubectl PATH"
out=$1; shift
while (($#)); do
  case $1 in
    --bin-src) bin_src=$2; shift ;;
    --crictl) crictl=$2; shift ;;
    --kubectl) kubectl=$2; shift ;;
    *) die "unknown argument $1" ;;
  esac
  shift
done
[[ -n $bin_src && -n $crictl && -n $kubectl ]] || die "--bin-src, --crictl and --kubectl are required"
[[ ! -e $out || -z $(ls -A "$out") ]] || die "$out exists and is not empty"
py=$(readlink -f /usr/bin/python3)
pyver=$(basename "$py")              # python3.11
busybox=$(command -v busybox) || die "busybox-static not installed"
file -L "$busybox" | grep -q 'statically linked' || die "$busybox is not static (apt install busybox-static)"
/usr/bin/python3 -c 'import tomlkit' || die "python3-tomlkit not installed"

mkdir -p "$out"/{bin,tmp,proc,sys,dev,host,etc/reaper-default,usr/bin,opt/reaper/bin,opt/reaper/installer}
chmod 1777 "$out/tmp"
cp "$busybox" "$out/bin/busybox"
for a in sh sleep nsenter chroot cat ls; do ln -s busybox "$out/bin/$a"; done

# python3 and the libraries it links (ldd), the standard library, tomlkit
copy_with_libs() {
  local src=$1 dst=$2 lib
  cp -L "$src" "$out$dst"
  for lib in $(ldd "$src" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [[ -e $out$lib ]] && continue
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
  done
}
copy_with_libs "$py" /usr/bin/python3
mkdir -p "$out/usr/lib/$pyver" "$out/usr/lib/python3/dist-packages"
tar -C "/usr/lib/$pyver" --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter \
  --exclude=turtledemo --exclude=ensurepip --exclude=lib2to3 --exclude=pydoc_data \
  --exclude=__pycache__ --exclude='config-*' --exclude=site-packages -cf - . | tar -C "$out/usr/lib/$pyver" -xf -
for so in "/usr/lib/$pyver"/lib-dynload/*.so; do
  for lib in $(ldd "$so" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [[ -e $out$lib ]] && continue
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
  done
done
tk=$(/usr/bin/python3 -c 'import tomlkit, os; print(os.path.dirname(tomlkit.__file__))')
tar -C "$(dirname "$tk")" --exclude=__pycache__ -cf - tomlkit | tar -C "$out/usr/lib/python3/dist-packages" -xf -

# Reaper
for b in containerd-shim-reaper-v2 reaper-runtime reaper-overlay; do
  [[ -x $bin_src/$b ]] || die "$bin_src/$b not found"
  cp "$bin_src/$b" "$out/opt/reaper/bin/$b"
done
copy_with_libs "$crictl" /opt/reaper/bin/crictl      # static when built from the module
copy_with_libs "$kubectl" /opt/reaper/bin/kubectl
cp "$repo/scripts/install-node.sh" "$out/opt/reaper/install-node.sh"
cp "$repo"/scripts/installer/*.py "$out/opt/reaper/installer/"
cp "$repo/deploy/reaper.toml" "$out/opt/reaper/reaper.toml"
echo "stage.sh: $(du -sh "$out" | cut -f1) in $out"
