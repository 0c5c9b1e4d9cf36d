#!/usr/bin/env bash
# Installs every Debian package Reaper needs to build and test. The one list of dependencies.
set -euo pipefail
# python3: tools/protogen (the shim's message code; the shim links no protobuf runtime).
# protobuf-compiler, libprotobuf-dev: reaperctl's CRI API (with gRPC) and the test-only
# reference build of tests/unit/codec_test.cc.
BUILD_PKGS=(g++ cmake ninja-build pkg-config python3 protobuf-compiler libprotobuf-dev nlohmann-json3-dev
            libgtest-dev libgmock-dev libgrpc++-dev protobuf-compiler-grpc libyaml-cpp-dev
            libseccomp-dev
            clang-14 libclang-rt-14-dev)
TEST_PKGS=(containerd runc busybox-static util-linux procps coreutils tar gzip tmux podman conmon)
# tests/critest: loopback registry, image copies, the pod network (CNI bridge, portmap),
# brctl for the privileged specs
TEST_PKGS+=(docker-registry skopeo curl containernetworking-plugins iptables iproute2 bridge-utils python3)
TEST_PKGS+=(ansible-core)  # tests/install: ansible-playbook (ansible.builtin modules only)
# tests/deploy (manifests) and tests/package (.deb). kubectl only if none is on PATH: Debian's
# kubernetes-client conflicts with other kubectl packages on /usr/bin/kubectl.
TEST_PKGS+=(yamllint python3-yaml dpkg-dev file lintian)
# scripts/install-node.sh: its TOML editor (also in the installer image, tests/install)
TEST_PKGS+=(python3-tomlkit)
# tests/k8s (one-node Kubernetes): the cluster's certificates (also uses curl, iproute2, tmux,
# python3 above; Kubernetes, etcd, containerd and crictl come from tests/peers/build.sh)
TEST_PKGS+=(openssl)
command -v kubectl >/dev/null || TEST_PKGS+=(kubernetes-client)
need=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if ((${#need[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
