# The one-node Kubernetes suite (tests/k8s/run.sh; issue 14; docs/testing.md, docs/kubernetes.md):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet and containerd 2.3 on
# this machine, Reaper installed by scripts/install-node.sh, driven with kubectl. The test builds
# the peers it needs (kubernetes, etcd, containerd-<main>, cri-tools) through tests/peers/build.sh
# into the peer cache (REAPER_PEERS_DIR, default <repo>/build/peers) on first use, so a run on an
# empty cache also pays for those builds (Kubernetes is the big one). Included from CMakeLists.txt.
if(REAPER_TESTS)
  add_test(NAME e2e_k8s COMMAND ${CMAKE_SOURCE_DIR}/tests/k8s/run.sh)
  set_tests_properties(e2e_k8s PROPERTIES
    ENVIRONMENT "REAPER_BIN_DIR=${CMAKE_BINARY_DIR}" TIMEOUT 5400 LABELS e2e SKIP_RETURN_CODE 77)
endif()
