#!/usr/bin/env bash
# The .deb end to end: builds it with CPack from the build dir, checks its control data and
# contents, installs it with `dpkg -i`, configures a PRIVATE containerd with the installed
# /usr/share/reaper/install-node.sh (config file in a temp dir, no restart), runs a task with
# the installed shim, then `dpkg --purge`s it and checks that none of its files remain.
# Refuses to run if a reaper package is installed or a file of the package already exists;
# always purges what it installed. Root only; never touches the system containerd.
#   REAPER_BUILD_DIR=build tests/package/run.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${REAPER_BUILD_DIR:-$repo/build}
# lib.sh's containerd finds the shim through $E2E_DIR/bin: a link to the installed one.
REAPER_BIN_DIR=/usr/bin
# shellcheck source=tests/e2e/lib.sh
source "$repo/tests/e2e/lib.sh"

PKG=reaper
pkgdir="" installed=0
passed=0
ok() { passed=$((passed + 1)); echo "PASS $*"; }
bad() { echo "FAIL $*" >&2; exit 1; }
pkg_status() { dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null || true; }

cleanup() {
  local rc=$?
  set +e
  e2e_stop_containerd
  if ((installed)) && [[ -n $(pkg_status) && $(pkg_status) != not-installed ]]; then
    log "cleanup: dpkg --purge $PKG"
    dpkg --purge "$PKG" >/dev/null
  fi
  [[ -z $pkgdir ]] || rm -rf "$pkgdir"
  exit "$rc"
}

[[ $EUID -eq 0 ]] || die "must run as root (dpkg -i)"
for tool in cpack dpkg dpkg-deb containerd ctr lintian strip; do
  command -v "$tool" >/dev/null || die "$tool not installed (scripts/install-deps.sh)"
done
[[ -f $build/CPackConfig.cmake ]] || die "$build/CPackConfig.cmake missing: configure the build first"
st=$(pkg_status)
[[ -z $st || $st == not-installed ]] ||
  die "a '$PKG' package is already on this machine (status '$st'): this test installs and purges its own; remove it first"
version=$(sed -nE 's/^project\(reaper VERSION ([0-9.]+).*/\1/p' "$repo/CMakeLists.txt")
[[ -n $version ]] || die "no project version in CMakeLists.txt"

trap cleanup EXIT
trap 'exit 130' INT TERM
pkgdir=$(mktemp -d /tmp/reaper-pkg.XXXX)

# ---- build ------------------------------------------------------------------------------------
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$pkgdir" >"$pkgdir/cpack.log" 2>&1 ||
  { tail -n 30 "$pkgdir/cpack.log" >&2; bad "cpack -G DEB failed"; }
mapfile -t debs < <(find "$pkgdir" -maxdepth 1 -name '*.deb')
[[ ${#debs[@]} == 1 ]] || bad "cpack made ${#debs[@]} .deb files, expected 1"
deb=${debs[0]}
[[ ${deb##*/} == "${PKG}_${version}_$(dpkg --print-architecture).deb" ]] || bad "file name ${deb##*/}"
ok "cpack built ${deb##*/} ($(($(stat -c %s "$deb") / 1024)) KiB)"

# ---- control data -----------------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == "$PKG" ]] || bad "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || bad "Version: $(field Version), project version $version"
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] || bad "Architecture: $(field Architecture)"
[[ $(field Depends) =~ (^|, )libc6( |,|$) ]] || bad "Depends lacks libc6: $(field Depends)"
[[ $(field Depends) == *libstdc++6* ]] || bad "Depends lacks libstdc++6: $(field Depends)"
[[ $(field Recommends) == containerd ]] || bad "Recommends: $(field Recommends)"
[[ -n $(field Maintainer) && -n $(field Description) ]] || bad "no Maintainer or Description"
conffiles=$(dpkg-deb -I "$deb" conffiles)
[[ $conffiles == /etc/reaper/reaper.toml ]] || bad "conffiles: '$conffiles'"
[[ $(field Depends) == *"python3-tomlkit"* ]] || bad "Depends lacks python3-tomlkit (install-node.sh): $(field Depends)"
for f in postinst prerm; do
  cmp -s <(dpkg-deb -I "$deb" "$f") "$repo/deploy/debian/$f" || bad "control member $f differs from deploy/debian/$f"
done
ok "control: $PKG $version, Depends $(field Depends | tr ',' '\n' | wc -l) packages, conffile /etc/reaper/reaper.toml, postinst and prerm"
# lintian: no error and no warning (the overrides are in deploy/debian/lintian-overrides, each with its reason)
lintian --fail-on error,warning --tag-display-limit 0 "$deb" >"$pkgdir/lintian.log" 2>&1 ||
  { cat "$pkgdir/lintian.log" >&2; bad "lintian reports errors or warnings"; }
ok "lintian: no errors, no warnings ($(grep -c . "$pkgdir/lintian.log" || true) lines of notes)"

# ---- contents ---------------------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ p = $6; sub(/^\./, "", p); print $1, p }' >"$pkgdir/contents"
want=(
  "-rwxr-xr-x /usr/bin/containerd-shim-reaper-v2" "-rwxr-xr-x /usr/bin/reaper-runtime"
  "-rwxr-xr-x /usr/bin/reaper-overlay" "-rwxr-xr-x /usr/bin/reaperctl"
  "-rw-r--r-- /etc/reaper/reaper.toml" "-rwxr-xr-x /usr/share/reaper/install-node.sh"
  "-rw-r--r-- /usr/share/reaper/reaper.toml" "-rw-r--r-- /usr/share/doc/reaper/copyright"
  "-rw-r--r-- /usr/share/doc/reaper/README.md" "-rw-r--r-- /usr/share/doc/reaper/configuration.md"
  "-rw-r--r-- /usr/share/doc/reaper/kubernetes.md" "-rw-r--r-- /usr/share/doc/reaper/changelog.gz"
  "-rw-r--r-- /usr/share/reaper/installer/install_node.py" "-rw-r--r-- /usr/share/reaper/installer/package-defaults"
  "-rw-r--r-- /usr/share/lintian/overrides/reaper")
for w in "${want[@]}"; do
  grep -qxF -- "$w" "$pkgdir/contents" || bad "package lacks '$w'"
done
stray=$(awk '$2 !~ "^/(etc/reaper|usr/bin|usr/share/reaper|usr/share/doc/reaper|usr/share/lintian/overrides/reaper)(/|$)" &&
             $2 !~ "^/((etc|usr|usr/share|usr/share/doc|usr/share/lintian|usr/share/lintian/overrides)/?)?$"' "$pkgdir/contents")
[[ -z $stray ]] || bad "unexpected paths in the package: $stray"
dpkg-deb -x "$deb" "$pkgdir/x"
# the package's binaries are the build's, stripped (CPACK_STRIP_FILES)
for f in containerd-shim-reaper-v2 reaper-runtime reaper-overlay tools/reaperctl/reaperctl; do
  strip -o "$pkgdir/stripped" "$build/$f"
  cmp -s "$pkgdir/stripped" "$pkgdir/x/usr/bin/${f##*/}" || bad "/usr/bin/${f##*/} in the package is not $build/$f stripped"
done
for f in "$repo"/scripts/installer/*.py; do
  cmp -s "$f" "$pkgdir/x/usr/share/reaper/installer/${f##*/}" || bad "installer/${f##*/} differs from scripts/installer"
done
cmp -s "$repo/deploy/reaper.toml" "$pkgdir/x/etc/reaper/reaper.toml" || bad "reaper.toml differs from deploy/"
ok "contents: $(grep -c '^-' "$pkgdir/contents") files, binaries identical to $build"

# ---- install ----------------------------------------------------------------------------------
mapfile -t paths < <(awk '{ print $2 }' "$pkgdir/contents" | sed 's|/$||' | grep -v '^$')
preexisting=()
for p in "${paths[@]}"; do
  if [[ -d $p && ! -L $p ]]; then preexisting+=("$p")
  elif [[ -e $p || -L $p ]]; then die "$p already exists (not from a $PKG package): dpkg -i would replace it; refusing"
  fi
done
installed=1
dpkg -i "$deb" >"$pkgdir/dpkg-i.log" 2>&1 || { cat "$pkgdir/dpkg-i.log" >&2; bad "dpkg -i failed"; }
[[ $(pkg_status) == installed ]] || bad "status after dpkg -i: $(pkg_status)"
grep -qF "/usr/share/reaper/install-node.sh               # add the reaper-v2 runtime" "$pkgdir/dpkg-i.log" ||
  { cat "$pkgdir/dpkg-i.log" >&2; bad "postinst did not print the next step"; }
dpkg -L "$PKG" | grep -vx '/\.' | sort >"$pkgdir/dpkg-L"
for p in "${paths[@]}"; do
  grep -qxF -- "$p" "$pkgdir/dpkg-L" || bad "dpkg -L lacks $p"
done
[[ $(dpkg-query -W -f='${Conffiles}' "$PKG") == *"/etc/reaper/reaper.toml "* ]] || bad "dpkg does not list the conffile"
ok "dpkg -i: installed, $(wc -l <"$pkgdir/dpkg-L") paths listed, conffile registered"

v=$(/usr/bin/reaper-runtime --version | head -n 1)
[[ $v == "reaper-runtime version $version" ]] || bad "reaper-runtime --version: '$v'"
out=$(env -u REAPER_CONFIG /usr/bin/reaper-overlay list 2>&1) || bad "reaper-overlay list with the installed /etc/reaper/reaper.toml: $out"
[[ $out == GROUP* ]] || bad "reaper-overlay list: '$out'"
/usr/bin/reaperctl --help >/dev/null 2>&1 || bad "reaperctl --help failed (shared libraries?)"
ok "installed binaries run: '$v', reaper-overlay reads the installed config, reaperctl starts"

# ---- a task with the installed shim through a private containerd ------------------------------
# containerd's config is written by the installed install-node.sh, the way docs/kubernetes.md
# says to configure a .deb node: no --bin-src/--bin-dir (the package's /usr/bin is used in
# place, nothing copied), in the temp dir.
e2e_write_config() {
  # shellcheck disable=SC2119
  local port
  port=$(( 20000 + RANDOM % 40000 ))
  { e2e_config_common cri
    printf '\n[plugins."io.containerd.grpc.v1.cri"]\n  stream_server_address = "127.0.0.1"\n  stream_server_port = "%s"\n' "$port"
    printf '  [plugins."io.containerd.grpc.v1.cri".cni]\n    conf_dir = "%s/cni"\n' "$E2E_DIR"
  } >"$E2E_DIR/config.toml"
  cp -p "$E2E_DIR/config.toml" "$E2E_DIR/config.orig"
  /usr/share/reaper/install-node.sh \
    --containerd-config "$E2E_DIR/config.toml" --node-config "$E2E_DIR/node/reaper.toml" \
    --no-restart >"$E2E_DIR/install-node.log" 2>&1 ||
    { cat "$E2E_DIR/install-node.log" >&2; bad "install-node.sh failed"; }
}
e2e_snapshot_shim() {
  mkdir -p "$E2E_DIR/bin"
  ln -s /usr/bin/containerd-shim-reaper-v2 "$E2E_DIR/bin/containerd-shim-reaper-v2"
}
e2e_start_containerd
for f in containerd-shim-reaper-v2 reaper-runtime reaper-overlay; do
  grep -qF "/usr/bin/$f is up to date" "$E2E_DIR/install-node.log" ||
    { cat "$E2E_DIR/install-node.log" >&2; bad "install-node.sh did not take /usr/bin/$f as installed"; }
done
grep -qxF '  runtime_path = "/usr/bin/containerd-shim-reaper-v2"' "$E2E_DIR/config.toml" ||
  { cat "$E2E_DIR/config.toml" >&2; bad "containerd config has no runtime_path to /usr/bin"; }
ok "install-node.sh (no --bin-src/--bin-dir) configured containerd for /usr/bin without copying binaries"
e2e_build_image
# The workload's parent is the shim: its executable must be the installed file.
rc=0
# --privileged: reading the shim's /proc/PID/exe needs CAP_SYS_PTRACE, not in the default set
# shellcheck disable=SC2016
out=$(ctr_run --rm --privileged -- "$(cid pkg)" /bin/sh -c 'readlink /proc/$PPID/exe; echo hi') || rc=$?
[[ $rc == 0 ]] || bad "ctr run exit status $rc: $out"
[[ $out == $'/usr/bin/containerd-shim-reaper-v2\nhi' ]] || bad "task output: '$out'"
ok "ctr run --runtime io.containerd.reaper.v2 with /usr/bin/containerd-shim-reaper-v2: 'hi', exit 0"
# ---- prerm: refuses while containerd's config uses the packaged shim ---------------------------
export REAPER_CONTAINERD_CONFIG=$E2E_DIR/config.toml
if dpkg -r "$PKG" >"$pkgdir/dpkg-r.log" 2>&1; then bad "dpkg -r succeeded while containerd's config uses the shim"; fi
grep -qF "containerd's config still uses the packaged shim" "$pkgdir/dpkg-r.log" ||
  { cat "$pkgdir/dpkg-r.log" >&2; bad "prerm did not say why"; }
[[ $(pkg_status) == installed ]] || bad "status after the refused dpkg -r: $(pkg_status)"
[[ -x /usr/bin/containerd-shim-reaper-v2 ]] || bad "the refused dpkg -r removed the shim"
ok "dpkg -r refused by prerm while the config points at /usr/bin/containerd-shim-reaper-v2"
out=$(/usr/share/reaper/install-node.sh --uninstall --containerd-config "$E2E_DIR/config.toml" \
  --node-config "$E2E_DIR/node/reaper.toml" --no-restart 2>&1) || bad "install-node.sh --uninstall failed: $out"
cmp -s "$E2E_DIR/config.orig" "$E2E_DIR/config.toml" || bad "config not restored by the packaged installer"
[[ -x /usr/bin/containerd-shim-reaper-v2 ]] || bad "the packaged installer removed the package's shim"
ok "packaged install-node.sh --uninstall: config byte for byte, the package's binaries kept"

e2e_stop_containerd
set -e   # e2e_stop_containerd turns errexit off

# ---- purge ------------------------------------------------------------------------------------
dpkg --purge "$PKG" >"$pkgdir/dpkg-purge.log" 2>&1 || { cat "$pkgdir/dpkg-purge.log" >&2; bad "dpkg --purge failed"; }
installed=0
[[ -z $(pkg_status) || $(pkg_status) == not-installed ]] || bad "status after purge: $(pkg_status)"
left=()
while read -r p; do
  keep=0
  for d in "${preexisting[@]}"; do [[ $p == "$d" ]] && keep=1; done
  if ((keep)); then [[ -d $p ]] || bad "purge removed $p, which existed before the install"
  elif [[ -e $p || -L $p ]]; then left+=("$p")
  fi
done <"$pkgdir/dpkg-L"
((${#left[@]} == 0)) || bad "left after dpkg --purge: ${left[*]}"
[[ ! -e /etc/reaper ]] || bad "/etc/reaper still exists after purge"
ok "dpkg --purge: none of $(wc -l <"$pkgdir/dpkg-L") paths left (shared directories kept), /etc/reaper gone"
echo "$passed passed, 0 failed"
