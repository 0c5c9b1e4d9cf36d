# shellcheck shell=bash
# scripts/install-reaper.sh --kind: it cannot run here (no Docker engine, no kind); checked with
# stand-in docker, kind and kubectl that record their calls.

test_kind_wrapper() {
  local s=$REPO/scripts/install-reaper.sh fake out calls
  bash -n "$s" || fail "install-reaper.sh: syntax error"
  out=$("$s" --help)
  assert_contains "$out" "--kind CLUSTER"
  assert_contains "$out" "NOT run by the project's CI"
  if out=$("$s" 2>&1); then fail "install-reaper.sh without --kind succeeded"; fi
  assert_contains "$out" "--kind CLUSTER is required"

  fake=$E2E_DIR/fake-kind-bin
  mkdir -p "$fake"
  for t in docker kubectl; do
    printf '#!/bin/sh\necho "%s $*" >>%s/calls\n' "$t" "$fake" >"$fake/$t"
  done
  printf '#!/bin/sh\necho "kind $*" >>%s/calls\nprintf "c1-control-plane\\nc1-worker\\n"\n' "$fake" >"$fake/kind"
  chmod +x "$fake"/*
  out=$(PATH="$fake:$PATH" "$s" --kind c1 --bin-src "$REAPER_BIN_DIR") || fail "install-reaper.sh failed: $out"
  calls=$(cat "$fake/calls")
  assert_eq 1 "$(grep -c '^kind get nodes --name c1$' <<<"$calls")" "kind calls"
  for n in c1-control-plane c1-worker; do
    assert_eq 6 "$(grep -c "^docker cp .* $n:/tmp/reaper-install/" <<<"$calls")" "files copied to $n"
    assert_contains "$calls" "docker exec $n /tmp/reaper-install/install-node.sh --bin-src /tmp/reaper-install --default-config /tmp/reaper-install/reaper.toml --restart-cmd systemctl restart containerd"
    assert_contains "$calls" "kubectl --context kind-c1 label node $n node-restriction.kubernetes.io/reaper-v2=true --overwrite"
  done
  : >"$fake/calls"
  out=$(PATH="$fake:$PATH" "$s" --kind c1 --uninstall) || fail "install-reaper.sh --uninstall failed: $out"
  calls=$(cat "$fake/calls")
  assert_contains "$calls" "docker exec c1-worker /tmp/reaper-install/install-node.sh --bin-src /tmp/reaper-install --default-config /tmp/reaper-install/reaper.toml --restart-cmd systemctl restart containerd --uninstall"
  assert_contains "$calls" "kubectl --context kind-c1 label node c1-worker node-restriction.kubernetes.io/reaper-v2- --overwrite"
}
register_test kind_wrapper test_kind_wrapper
