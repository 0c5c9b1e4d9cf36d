# shellcheck shell=bash
# Pod annotations through CRI (issue 13, item 3): the runtime handler's pod_annotations
# (["reaper.runtime/*"], written by tests/cri/lib.sh for every containerd version) must bring a
# pod's reaper.runtime/* annotations into the OCI specs of its sandbox and containers, and only
# those, and the shim must act on them. Sourced by run.sh and by tests/matrix/run.sh.
#
# Container commands run in the NODE's /bin/sh (dash): POSIX sh only.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

# anno_bundle_annotation <id> <key>: the value of an annotation in the bundle's config.json
# (the OCI spec containerd gave the shim), "<absent>" if the spec has no such key.
anno_bundle_annotation() {
  python3 - "$E2E_STATE/io.containerd.runtime.v2.task/k8s.io/$1/config.json" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f:
    print(json.load(f).get("annotations", {}).get(sys.argv[2], "<absent>"))
EOF
}

t_pod_annotations_pass_through() {
  [[ $CRI_HANDLER == reaper-v2 ]] || skip "Reaper-specific (the overlay group is Reaper's)"
  local pod f group sb ctr gdir out
  pod=$(pod_name anno) f=$E2E_DIR/data/$pod.yaml group=anno$E2E_RUNID
  track "$pod"
  write_pod "$f" "$pod" Never "$(container_yaml main "echo in-group > /tmp/reaper-anno-$E2E_RUNID; exec sleep 1000")"
  # metadata.annotations after metadata.name (write_pod writes "metadata:\n  name: ...")
  sed -i "s|^  name: $pod\$|  name: $pod\n  annotations: {reaper.runtime/overlay-name: $group, example.com/not-passed: x}|" "$f"
  grep -q "reaper.runtime/overlay-name: $group" "$f" || fail "could not add the annotations to $f"
  rctl run -d -f "$f" >/dev/null
  assert_wait 30 "container running" container_state_is "$pod" main Running
  sb=$(inspect_field "$pod" pod id)
  ctr=$(inspect_field "$pod" main id)
  assert_match "$sb" '^[0-9a-f]{64}$' "sandbox id"
  assert_match "$ctr" '^[0-9a-f]{64}$' "container id"
  # containerd put the matching annotation into both specs, and not the other one
  assert_eq "$group" "$(anno_bundle_annotation "$sb" reaper.runtime/overlay-name)" "sandbox spec annotation"
  assert_eq "$group" "$(anno_bundle_annotation "$ctr" reaper.runtime/overlay-name)" "container spec annotation"
  assert_eq "<absent>" "$(anno_bundle_annotation "$ctr" example.com/not-passed)" \
    "an annotation outside pod_annotations in the container spec"
  # ... and the shim used it: the pod's writes land in the named overlay group
  gdir=$E2E_DIR/reaper/groups/k8s-default.$group
  assert_wait 10 "overlay group $gdir created" test -d "$gdir"
  out=$(rctl exec "$pod" -- cat "/tmp/reaper-anno-$E2E_RUNID")
  assert_eq in-group "$out" "the container's write seen through exec"
  [[ ! -e /tmp/reaper-anno-$E2E_RUNID ]] || fail "the container's write reached the host's /tmp"
  rctl rm -f "$pod"
}

# A bad reaper.runtime/* value reaches the shim too, which refuses the pod with its own message.
t_pod_annotations_bad_value() {
  [[ $CRI_HANDLER == reaper-v2 ]] || skip "Reaper-specific annotation"
  local pod f out rc=0
  pod=$(pod_name annobad) f=$E2E_DIR/data/$pod.yaml
  track "$pod"
  write_pod "$f" "$pod" Never "$(container_yaml main "exit 0")"
  sed -i "s|^  name: $pod\$|  name: $pod\n  annotations: {reaper.runtime/dns-mode: bogus}|" "$f"
  out=$(rctl run --rm --timeout 60 -f "$f" 2>&1) || rc=$?
  assert_ne 0 "$rc" "reaperctl run of a pod with reaper.runtime/dns-mode: bogus"
  assert_contains "$out" "reaper.runtime/dns-mode must be host or kubernetes" "error from the shim"
}

register_test pod_annotations_pass_through t_pod_annotations_pass_through
register_test pod_annotations_bad_value t_pod_annotations_bad_value
