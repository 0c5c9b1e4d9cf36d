#!/usr/bin/env bash
# Builds the test peers pinned in tests/peers/versions.env from their Go modules, once per
# version, into a cache (default <repo>/build/peers, or $REAPER_PEERS_DIR):
#
#   tests/peers/build.sh NAME...        build what is missing (NAME: see --list, or "all")
#   tests/peers/build.sh --path NAME    build if missing, then print the peer's bin directory
#   tests/peers/build.sh --list         the peers and their pinned versions
#
# Each peer is built in a throw-away wrapper module that requires the pinned module (go.sum
# comes from the module proxy's checksum database), with CGO off, stripped, and lands in
# <cache>/<name>-<version>/bin. A second run finds the stamp and returns at once; concurrent
# runs of the same peer wait for each other (flock). Nothing of the peers' code is kept in
# this repository. Needs Go >= 1.26 and the module proxy.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
PEERS=${REAPER_PEERS_DIR:-$repo/build/peers}

say() { printf '[peers] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# peer_spec NAME: sets MODULE VERSION PKGS (go build targets) TESTPKGS (go test -c targets),
# OUT (the binary's name when PKGS is one package whose path does not end in it) and XLDFLAGS
# (extra -ldflags, e.g. the version stamps a release build sets; part of the cache stamp).
peer_spec() {
  MODULE="" VERSION="" PKGS=() TESTPKGS=() OUT="" XLDFLAGS=""
  case $1 in
    containerd-2.0 | containerd-2.2 | containerd-2.3 | containerd-2.4)
      local var="CONTAINERD_${1#containerd-}"
      var=${var/./_}
      MODULE=github.com/containerd/containerd/v2
      VERSION=${!var}
      PKGS=("$MODULE/cmd/containerd" "$MODULE/cmd/ctr" "$MODULE/cmd/containerd-shim-runc-v2")
      ;;
    cri-tools)
      MODULE=sigs.k8s.io/cri-tools VERSION=$CRI_TOOLS
      PKGS=("$MODULE/cmd/crictl")
      TESTPKGS=("$MODULE/cmd/critest")
      ;;
    kubernetes)
      MODULE=k8s.io/kubernetes VERSION=$KUBERNETES
      local c
      for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
        PKGS+=("$MODULE/cmd/$c")
      done
      # the version a release build stamps (hack/lib/version.sh): without it every component
      # reports v0.0.0-master (kubelet's Node status, /version, kubectl version)
      local minor=${VERSION#v1.} vp
      minor=${minor%%.*}
      for vp in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        XLDFLAGS+=" -X $vp.gitVersion=$VERSION -X $vp.gitMajor=1 -X $vp.gitMinor=$minor -X $vp.gitTreeState=clean"
      done
      ;;
    etcd)
      MODULE=go.etcd.io/etcd/server/v3 VERSION=$ETCD
      PKGS=("$MODULE")  # the server module's main package is the etcd binary
      OUT=etcd
      ;;
    helm)
      MODULE=helm.sh/helm/v3 VERSION=$HELM
      PKGS=("$MODULE/cmd/helm")
      ;;
    *) die "unknown peer '$1' (tests/peers/build.sh --list)" ;;
  esac
  [[ -n $VERSION ]] || die "no version pinned for $1 in tests/peers/versions.env"
}

ALL=(containerd-2.0 containerd-2.2 containerd-2.3 containerd-2.4 cri-tools kubernetes etcd helm)

go_env() {
  export GOMODCACHE="$PEERS/gomod" GOCACHE="$PEERS/gocache" GOPATH="$PEERS/gopath"
  export GOFLAGS="-modcacherw -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0
}

check_go() {
  command -v go >/dev/null || die "Go >= 1.26 is needed to build the test peers (none on PATH)"
  local v
  v=$(go env GOVERSION)
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  (( major > 1 || (major == 1 && minor >= 26) )) || die "Go >= 1.26 is needed, found go$v"
}

# The staging replaces of k8s.io/kubernetes, pointed at the published modules of its release.
kubernetes_replaces() {
  local modfile=$1 staging_version="v0.${VERSION#v1.}"
  awk -v v="$staging_version" '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "\t%s => %s %s\n", $1, $1, v }' "$modfile"
}

build_peer() {
  local name=$1 dir stamp log wrap
  peer_spec "$name"
  dir=$PEERS/$name-$VERSION
  stamp=$dir/bin/.complete
  local want="$MODULE $VERSION${XLDFLAGS:+ ldflags:$XLDFLAGS}"
  [[ -f $stamp && $(<"$stamp") == "$want" ]] && return 0
  mkdir -p "$PEERS"
  exec {lock}>"$PEERS/.lock-$name"
  flock "$lock"
  if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then exec {lock}>&-; return 0; fi
  check_go
  go_env
  log=$dir/build.log
  wrap=$dir/module
  rm -rf "$dir"
  mkdir -p "$wrap" "$dir/bin"
  say "building $name $VERSION (log: $log)"
  local t0=$SECONDS
  {
    printf 'module reaper.test/peers/%s\n\ngo 1.26\n\nrequire %s %s\n' "$name" "$MODULE" "$VERSION"
  } >"$wrap/go.mod"
  if [[ $name == kubernetes ]]; then
    (cd "$wrap" && go mod download -json "$MODULE@$VERSION" >/dev/null) >>"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; die "cannot download $MODULE@$VERSION"; }
    local modfile="$GOMODCACHE/cache/download/$MODULE/@v/$VERSION.mod"
    { printf '\nreplace (\n'; kubernetes_replaces "$modfile"; printf ')\n'; } >>"$wrap/go.mod"
  fi
  local p gets=()
  for p in "${PKGS[@]}"; do gets+=("$p@$VERSION"); done
  (
    cd "$wrap"
    set -x
    if ((${#PKGS[@]})); then go get "${gets[@]}"; fi
    if ((${#TESTPKGS[@]})); then go get -t "${TESTPKGS[@]/%/@$VERSION}"; fi
    if ((${#PKGS[@]})); then go build -trimpath -ldflags="-s -w$XLDFLAGS" -o "$dir/bin/$OUT" "${PKGS[@]}"; fi
    for p in "${TESTPKGS[@]}"; do
      go test -c -trimpath -ldflags='-s -w' -o "$dir/bin/${p##*/}" "$p"
    done
  ) >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "building $name $VERSION failed"; }
  printf '%s\n' "$want" >"$stamp"
  say "built $name $VERSION in $((SECONDS - t0)) s: $(cd "$dir/bin" && echo *)"
  exec {lock}>&-
}

case ${1:-} in
  --list)
    for n in "${ALL[@]}"; do peer_spec "$n"; printf '%-16s %-36s %s\n' "$n" "$MODULE" "$VERSION"; done
    ;;
  --path)
    [[ $# -eq 2 ]] || die "usage: $0 --path NAME"
    build_peer "$2"
    peer_spec "$2"
    echo "$PEERS/$2-$VERSION/bin"
    ;;
  "" | -h | --help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    ;;
  *)
    names=("$@")
    [[ $1 == all ]] && names=("${ALL[@]}")
    for n in "${names[@]}"; do build_peer "$n"; done
    ;;
esac
