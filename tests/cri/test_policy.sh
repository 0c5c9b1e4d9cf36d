# shellcheck shell=bash
# Node policy through CRI (docs/configuration.md): non_host_network = "allow" | "reject" and
# allowed_namespaces, enforced by the shim when containerd creates the pod's sandbox task.
# Sourced by run.sh (which provides lib.sh, the private containerd with CRI and the image).
#
# A pod without hostNetwork needs CRI's pod network: these tests install the fake CNI plugin
# (cri_cni_enable, tests/cri/reaper-test-cni) for their duration, so the pod goes the way it goes
# on a real node (netns under /var/run/netns, CNI ADD/DEL) and reaches the shim. The shim reads
# its node config ($E2E_DIR/reaper.toml, containerd's REAPER_CONFIG) when it starts, once per
# pod, so a test rewrites that file before creating a pod; the test's EXIT trap removes its
# pods, restores the file and removes the CNI config again (NetworkReady=false, which
# test_pods.sh's clear_errors relies on).
#
# Container commands run in the NODE's /bin/sh (dash): POSIX sh only.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

POLICY_WARNING="pod did not ask for hostNetwork but runs on the host network"

# policy_begin [cni]: save the node config, arm the teardown, optionally enable the pod network.
policy_begin() {
  cp "$E2E_DIR/reaper.toml" "$E2E_DIR/reaper.toml.orig"
  POLICY_CNI=0
  trap policy_end EXIT
  if [[ ${1:-} == cni ]]; then
    POLICY_CNI=1
    cri_cni_enable || fail "CRI did not report NetworkReady=true with the fake CNI config"
  fi
}

# EXIT trap of a policy test: pods first (their StopPodSandbox calls CNI DEL, which needs the
# config), then the node config and the CNI config. A failure here fails the test.
policy_end() {
  local rc=$? out
  set +e
  trap - ERR
  out=$(CRI_RPC_TIMEOUT=60 rctl -q rm --all -f 2>&1) || echo "teardown: reaperctl rm --all: $out" >&2
  mv -f "$E2E_DIR/reaper.toml.orig" "$E2E_DIR/reaper.toml"
  if (( POLICY_CNI )) && ! cri_cni_disable; then
    echo "ASSERTION FAILED: CRI still reports NetworkReady=true after removing the CNI config" >&2
    [[ -s $E2E_REASON_FILE ]] || echo "NetworkReady still true after removing the CNI config" >"$E2E_REASON_FILE"
    rc=1
  fi
  exit "$rc"
}

# policy_config LINE...: the node config of the next pods = the harness's config + LINEs.
policy_config() {
  { cat "$E2E_DIR/reaper.toml.orig"; printf '%s\n' "$@"; } >"$E2E_DIR/reaper.toml.new"
  mv -f "$E2E_DIR/reaper.toml.new" "$E2E_DIR/reaper.toml"
}

# policy_pod <file> <name> <hostNetwork true|false> <namespace|""> <shell command>
policy_pod() {
  local f=$1 name=$2 hostnet=$3 ns=$4 cmd=$5
  write_pod "$f" "$name" Never "$(container_yaml main "$cmd")"
  sed -i "s/^  hostNetwork: true\$/  hostNetwork: $hostnet/" "$f"
  if [[ -n $ns ]]; then sed -i "s/^  name: $name\$/&\n  namespace: $ns/" "$f"; fi
}

netns_entries() { find /var/run/netns/ -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort; }
# new_netns <entries before>: netns entries created since (by anyone).
new_netns() { comm -13 <(printf '%s\n' "$1" | sed '/^$/d') <(netns_entries); }
# run_netns_left <entries before>: those of them that this run's containerd created (every netns
# it creates is handed to CNI ADD, which the fake plugin logs); other containerds on the machine
# may create netns entries at the same time.
run_netns_left() {
  local n
  while read -r n; do
    [[ -n $n ]] || continue
    if awk -v n="$n" '$1 == "ADD" && $4 ~ ("/" n "$") { f = 1 } END { exit !f }' "$(cri_cni_log)"; then
      echo "$n"
    else
      echo "note: /var/run/netns/$n appeared meanwhile, not created by this run" >&2
    fi
  done < <(new_netns "$1")
}

cni_lines() { wc -l <"$(cri_cni_log)"; }
# cni_calls_since <line count>: plugin calls logged since.
cni_calls_since() { tail -n "+$(( $1 + 1 ))" "$(cri_cni_log)"; }

# ADDs of (container, ifname) without a later DEL, in the given plugin calls.
cni_unbalanced() {
  awk '$1 == "ADD" { add[$2 " " $3] = 1 } $1 == "DEL" { delete add[$2 " " $3] }
       END { for (k in add) print "ADD without DEL: " k }' <<<"$1"
}

pod_listed() { rctl ps | awk -v n="$1" '$2 == n { f = 1 } END { exit !f }'; }
warnings_logged() { grep -cF "$POLICY_WARNING" "$E2E_DIR/containerd.log" || true; }
warnings_above() { (( $(warnings_logged) > $1 )); }

# assert_sandbox_gone <sandbox id> <netns path or ""> <netns entries before the pod>
# Nothing of the sandbox is left: shim, netns (file and mount), CNI cache, containerd state.
assert_sandbox_gone() {
  local sb=$1 netns=$2 before=$3 p
  assert_wait 10 "no shim left" no_shims_left
  assert_empty "$(run_netns_left "$before")" "netns entries of this run left under /var/run/netns"
  if [[ -n $netns ]]; then
    [[ ! -e $netns ]] || fail "pod netns $netns left behind"
    assert_empty "$(awk -v n="${netns##*/}" '$5 ~ ("/netns/" n "$")' /proc/self/mountinfo || true)" \
      "mount of the pod netns $netns"
  fi
  # (`|| true`: a failing command substitution would trip the test's ERR trap, which records
  # the first failure as the test's reason.)
  assert_empty "$(find /var/lib/cni/results -name "*-$sb-*" 2>/dev/null || true)" "CNI result cache of $sb"
  assert_empty "$(grep -F "$sb" /proc/self/mountinfo || true)" "mounts of sandbox $sb"
  for p in "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/$sb" \
           "$E2E_STATE/io.containerd.grpc.v1.cri/sandboxes/$sb" \
           "$E2E_DIR/root/io.containerd.grpc.v1.cri/sandboxes/$sb"; do
    [[ ! -e $p ]] || fail "left behind: $p"
  done
  assert_empty "$(ctrp containers ls -q | grep -F "$sb" || true)" "containerd container $sb"
}

# ---------------------------------------------------------------------------

# Default policy (allow): a pod without hostNetwork goes through CNI, runs, and its processes are
# on the host network; after `reaperctl rm` nothing is left.
t_policy_non_host_network_allow() {
  local pod f err out rc=0 before mark warn sb add netns shims hostnet
  policy_begin cni
  pod=$(pod_name netallow) f=$E2E_DIR/data/$pod.yaml err=$E2E_DIR/data/$pod.err
  hostnet=$(readlink /proc/self/ns/net)
  track "$pod"
  policy_pod "$f" "$pod" false "" "echo policy-allow-ran; readlink /proc/self/ns/net"
  before=$(netns_entries) mark=$(cni_lines) warn=$(warnings_logged)

  out=$(rctl run --timeout 60 -f "$f" 2>"$err") || rc=$?
  cat "$err"
  assert_eq 0 "$rc" "exit status of reaperctl run (pod without hostNetwork, policy allow)"
  assert_contains "$out" "policy-allow-ran" "output of the pod"
  assert_contains "$out" "$hostnet" "network namespace of the workload (the host's)"
  assert_contains "$(cat "$err")" "does not set hostNetwork: true; its processes use the node's network" \
    "reaperctl's warning"
  assert_wait 10 "the shim's warning in containerd's log" warnings_above "$warn"

  # The pod went through CRI's pod network: CNI ADD into a netns that containerd created.
  sb=$(inspect_field "$pod" pod id)
  [[ -n $sb ]] || fail "no sandbox id for $pod"
  add=$(cni_calls_since "$mark" | awk -v id="$sb" '$1 == "ADD" && $2 == id && $3 == "eth0"')
  [[ -n $add ]] || fail "no CNI ADD for sandbox $sb: $(cni_calls_since "$mark")"
  netns=$(awk '{ print $4; exit }' <<<"$add")
  [[ -e $netns ]] || fail "pod netns $netns missing while the pod exists"
  [[ $(new_netns "$before") == *"${netns##*/}"* ]] || fail "$netns is not a new entry under /var/run/netns"
  shims=$(e2e_shim_pids)
  assert_eq 1 "$(wc -w <<<"$shims")" "shims while the pod exists (pids: $shims)"

  rctl rm "$pod"
  assert_wait 10 "shim $shims gone" pid_gone "$shims"
  assert_sandbox_gone "$sb" "$netns" "$before"
  assert_empty "$(cni_unbalanced "$(cni_calls_since "$mark")")" "CNI DEL for every ADD"
  pod_listed "$pod" && fail "pod $pod still listed"
  return 0
}

# non_host_network = "reject": the same pod fails with the shim's message and leaves nothing.
t_policy_non_host_network_reject() {
  local pod f out rc=0 before mark calls sb
  policy_begin cni
  policy_config 'non_host_network = "reject"'
  pod=$(pod_name netreject) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  policy_pod "$f" "$pod" false "" "echo must-not-run"
  before=$(netns_entries) mark=$(cni_lines)

  out=$(rctl run --timeout 60 -f "$f" 2>&1) || rc=$?
  echo "$out"
  assert_eq 125 "$rc" "exit status of reaperctl run (pod without hostNetwork, policy reject)"
  assert_contains "$out" "hostNetwork: true" "error of the rejected pod"
  assert_contains "$out" "node policy: Reaper pods run on the host network" "the shim's message"
  assert_contains "$out" "non_host_network = reject" "the setting named in the message"
  [[ $out != *must-not-run* ]] || fail "the rejected pod ran: $out"

  # It was the shim that refused (the pod had its CNI ADD), and the refusal left nothing.
  calls=$(cni_calls_since "$mark")
  sb=$(awk '$1 == "ADD" && $3 == "eth0" { print $2; exit }' <<<"$calls")
  [[ -n $sb ]] || fail "the pod never reached CNI (refused before the shim?): $calls"
  assert_sandbox_gone "$sb" "$(awk '$1 == "ADD" && $3 == "eth0" { print $4; exit }' <<<"$calls")" "$before"
  assert_empty "$(cni_unbalanced "$(cni_calls_since "$mark")")" "CNI DEL for every ADD"
  pod_listed "$pod" && fail "rejected pod $pod still listed"
  return 0
}

# A hostNetwork pod is never taken for a non-host-network one: it runs under "reject", and it
# logs no warning under "allow". (CRI gives every CONTAINER of a pod a network namespace entry, the path
# of the sandbox's netns, /proc/<sandbox pid>/ns/net, which for a hostNetwork pod is the host's;
# only the SANDBOX spec tells hostNetwork apart: no network entry.)
t_policy_host_network_pod_passes() {
  local pod f out rc=0 warn problems=()
  policy_begin
  pod=$(pod_name hostnet) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  policy_pod "$f" "$pod" true "" "echo hostnet-pod-ran"

  # Both halves run before the verdict, so that the log shows each.
  policy_config 'non_host_network = "reject"'
  out=$(rctl run --rm --timeout 60 -f "$f" 2>&1) || rc=$?
  echo "$out"
  [[ $rc == 0 && $out == *hostnet-pod-ran* ]] ||
    problems+=("non_host_network = reject refused a hostNetwork pod (exit $rc): $(grep -m1 -o 'node policy:[^)]*)' <<<"$out" || true)")
  assert_wait 10 "no shim left" no_shims_left
  pod_listed "$pod" && fail "pod $pod still listed after run --rm"

  policy_config  # the harness's config: non_host_network = "allow"
  warn=$(warnings_logged) rc=0
  out=$(rctl run --rm --timeout 60 -f "$f" 2>&1) || rc=$?
  echo "$out"
  assert_eq 0 "$rc" "exit status of a hostNetwork pod (policy allow)"
  assert_contains "$out" "hostnet-pod-ran" "output of the hostNetwork pod"
  assert_wait 10 "no shim left" no_shims_left
  (( $(warnings_logged) == warn )) ||
    problems+=("a hostNetwork pod logged $(( $(warnings_logged) - warn )) '$POLICY_WARNING' warning(s)")

  if (( ${#problems[@]} )); then
    printf 'PROBLEM: %s\n' "${problems[@]}" >&2
    fail "$(IFS=';'; echo "${problems[*]}")"
  fi
  return 0
}

# allowed_namespaces = ["ops"]: a pod in ops runs, one in default fails with the policy message.
t_policy_allowed_namespaces() {
  local pod f dpod df out rc=0
  policy_begin
  policy_config 'allowed_namespaces = ["ops"]'
  pod=$(pod_name ops) f=$E2E_DIR/data/$pod.yaml
  policy_pod "$f" "$pod" true ops "echo ops-pod-ran"
  out=$(rctl run --timeout 60 -f "$f" 2>&1) || rc=$?
  echo "$out"
  assert_eq 0 "$rc" "exit status of a pod in namespace ops"
  assert_contains "$out" "ops-pod-ran" "output of the pod in ops"
  assert_eq ops "$(rctl -n ops inspect "$pod" | awk '$1 == "pod" { sub(/^namespace=/, "", $2); print $2 }')" \
    "namespace of the pod"
  rctl -n ops rm "$pod"
  assert_wait 10 "no shim left" no_shims_left

  dpod=$(pod_name notops) df=$E2E_DIR/data/$dpod.yaml rc=0
  track "$dpod"
  policy_pod "$df" "$dpod" true "" "echo must-not-run"
  out=$(rctl run --timeout 60 -f "$df" 2>&1) || rc=$?
  echo "$out"
  assert_eq 125 "$rc" "exit status of a pod in namespace default"
  assert_contains "$out" 'node policy: Kubernetes namespace "default" may not run Reaper pods' \
    "error of the pod outside allowed_namespaces"
  [[ $out != *must-not-run* ]] || fail "the refused pod ran: $out"
  assert_wait 10 "no shim left" no_shims_left
  pod_listed "$dpod" && fail "refused pod $dpod still listed"
  pod_listed "$pod" && fail "pod $pod still listed"
  return 0
}

register_test policy_non_host_network_allow t_policy_non_host_network_allow
register_test policy_non_host_network_reject t_policy_non_host_network_reject
register_test policy_host_network_pod_passes t_policy_host_network_pod_passes
register_test policy_allowed_namespaces t_policy_allowed_namespaces
