# shellcheck shell=bash
# Resource accounting through CRI (docs/protocol.md "Stats", docs/configuration.md
# enforce_resources): ListContainerStats (`reaperctl stats`) reports a pod's real memory and
# CPU; with enforce_resources = true a container over its memory limit is OOM-killed and CRI
# reports reason OOMKilled; without it the same pod runs to completion. No cgroup is left.
# Sourced by run.sh (which provides lib.sh, the private containerd with CRI and the image).

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# The pod allocates 64 MiB (touched pages) and prints "ready".
STATS_ALLOC="b = b'x' * (64 << 20)\\nprint('ready', flush=True)\\nimport time\\ntime.sleep(1000)"

# stats_pod <file> <name> <python program> [memory limit]
stats_pod() {
  local f=$1 name=$2 prog=$3 limit=${4:-} res=""
  [[ -z $limit ]] || res=$(printf '    resources: {limits: {memory: "%s", cpu: "500m"}}\n' "$limit")
  write_pod "$f" "$name" Never "$(printf '  - name: main\n    command: ["python3", "-c", "%s"]\n    env: [{name: E2E_MARK, value: "%s"}]\n%s' \
    "$prog" "$E2E_DIR" "$res")"
}

stats_begin() {
  cp "$E2E_DIR/reaper.toml" "$E2E_DIR/reaper.toml.orig"
  trap stats_end EXIT
}
stats_end() {
  local rc=$? out
  set +e
  trap - ERR
  out=$(CRI_RPC_TIMEOUT=60 rctl -q rm --all -f 2>&1) || echo "teardown: reaperctl rm --all: $out" >&2
  mv -f "$E2E_DIR/reaper.toml.orig" "$E2E_DIR/reaper.toml"
  exit "$rc"
}
# stats_config LINE...: the node config of the next pods = the harness's config + LINEs.
stats_config() {
  { cat "$E2E_DIR/reaper.toml.orig"; printf '%s\n' "$@"; } >"$E2E_DIR/reaper.toml.new"
  mv -f "$E2E_DIR/reaper.toml.new" "$E2E_DIR/reaper.toml"
}

logs_have() { [[ $(rctl logs "$1" 2>/dev/null) == *"$2"* ]]; }
# stats_field <pod> <column>: a column of `reaperctl stats <pod>` for container main
# (3 CPU, 4 MEMORY = working set, 5 USAGE, 6 RSS).
stats_field() { rctl stats "$1" | awk -v c="$2" '$2 == "main" { print $c }'; }
cpu_above() { (( $(stats_field "$1" 3) > $2 )); }
# The cgroups of a container id in every hierarchy (v1 controllers and cgroup2).
cgroups_of() { find /sys/fs/cgroup/ -mindepth 2 -type d -name "$1*" 2>/dev/null || true; }

t_stats_memory_and_cpu() {
  command -v python3 >/dev/null || { echo "SKIP: needs python3"; return 0; }
  local pod f mem cpu id
  stats_begin
  pod=$(pod_name stats) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  stats_pod "$f" "$pod" "$STATS_ALLOC"
  rctl run -d -f "$f" >/dev/null
  assert_wait 60 "the pod allocated 64 MiB" logs_have "$pod" ready
  mem=$(stats_field "$pod" 4)
  (( mem >= 67108864 )) || fail "working set of a pod holding 64 MiB: $mem bytes"
  (( $(stats_field "$pod" 5) >= 67108864 )) || fail "memory usage below 64 MiB"
  (( $(stats_field "$pod" 6) >= 60000000 )) || fail "RSS below 60 MB"
  cpu=$(stats_field "$pod" 3)
  (( cpu > 0 )) || fail "CPU time of a pod that ran python: $cpu"
  # A busy loop in an exec is in the container's cgroup: CPU time grows.
  rctl exec "$pod" -- sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'
  assert_wait 10 "CPU time grew" cpu_above "$pod" "$cpu"
  id=$(inspect_field "$pod" main id)
  [[ -n $(cgroups_of "$id") ]] || fail "no cgroup of container $id while it runs"
  rctl rm -f "$pod"
  assert_empty "$(cgroups_of "$id")" "cgroups of container $id after the pod was removed"
}

t_stats_oom_killed_with_enforce_resources() {
  command -v python3 >/dev/null || { echo "SKIP: needs python3"; return 0; }
  local pod f rc=0 id
  stats_begin
  stats_config "enforce_resources = true"
  pod=$(pod_name oom) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  stats_pod "$f" "$pod" "b = b'x' * (64 << 20)\\nprint('survived')" 32Mi
  rctl run --timeout 60 -f "$f" >/dev/null 2>&1 || rc=$?
  assert_ne 0 "$rc" "exit status of a pod over its 32 MiB limit"
  assert_eq OOMKilled "$(inspect_field "$pod" main reason)" "reason of the container"
  assert_eq 137 "$(inspect_field "$pod" main exit)" "exit code of the container"
  id=$(inspect_field "$pod" main id)
  rctl rm -f "$pod"
  assert_empty "$(cgroups_of "$id")" "cgroups of container $id after the pod was removed"
}

t_stats_limits_not_enforced_by_default() {
  command -v python3 >/dev/null || { echo "SKIP: needs python3"; return 0; }
  local pod f out rc=0
  stats_begin
  pod=$(pod_name nooom) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  stats_pod "$f" "$pod" "b = b'x' * (64 << 20)\\nprint('survived')" 32Mi
  out=$(rctl run --timeout 60 -f "$f" 2>/dev/null) || rc=$?
  assert_eq 0 "$rc" "exit status of the same pod without enforce_resources"
  assert_contains "$out" survived "output of the pod"
  rctl rm -f "$pod"
}

register_test stats_memory_and_cpu t_stats_memory_and_cpu
register_test stats_oom_killed_with_enforce_resources t_stats_oom_killed_with_enforce_resources
register_test stats_limits_not_enforced_by_default t_stats_limits_not_enforced_by_default
