#!/usr/bin/env bash
# Self-check of the floor shim (bench/floor, docs/benchmarks.md "The floor shim"): through a
# private containerd (tests/e2e/lib.sh; REAPER_CONTAINERD, default main = 2.3), `ctr run --rm`
# with io.containerd.floor.v1 must exit 0 every time, `ctr run -d` must show a task whose pid
# is the floor shim's own, and after `ctr task rm`/`ctr run --rm` no floor shim, socket or
# bundle of the run may be left. Not timed: it checks that the benchmark's third runtime works.
#
#   bench/floor/selfcheck.sh        # as root; REAPER_BIN_DIR = the build dir (default build/)
set -euo pipefail
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REAPER_CONTAINERD=${REAPER_CONTAINERD:-main}
# shellcheck source=tests/e2e/lib.sh
source "$SELF/../../tests/e2e/lib.sh"
E2E_NS=reaper-floor
RT=io.containerd.floor.v1
FLOOR=$REAPER_BIN_DIR/bench/floor/containerd-shim-floor-v1
[[ $EUID -eq 0 ]] || die "must run as root"
[[ -x $FLOOR ]] || die "$FLOOR not found (ninja -C build containerd-shim-floor-v1)"
# containerd's PATH gets <tmp>/bin: lib.sh copies $REAPER_BIN_DIR/containerd-shim-* there
REAPER_BIN_DIR=${FLOOR%/*}

trap e2e_stop_containerd EXIT
trap 'exit 130' INT TERM
e2e_start_containerd
e2e_build_image
ids=()

for i in 1 2 3; do
  id=$(cid "floor-rm-$i")
  ids+=("$id")
  rc=0
  out=$(ctrp run --rm --runtime "$RT" "$E2E_IMAGE" "$id" /bin/true </dev/null 2>&1) || rc=$?
  assert_eq 0 "$rc" "ctr run --rm $id exit status (output: $out)"
done

id=$(cid floor-d)
ids+=("$id")
ctrp run -d --runtime "$RT" "$E2E_IMAGE" "$id" /bin/true </dev/null >/dev/null
pid=$(task_pid "$id")
[[ -n $pid && $pid != 0 ]] || fail "no pid for task $id: $(ctrp task ls 2>&1)"
exe=$(readlink "/proc/$pid/exe") || fail "task pid $pid is not a live process"
assert_eq containerd-shim-floor-v1 "${exe##*/}" "task $id's pid is the floor shim's own"
assert_eq STOPPED "$(task_status "$id")" "task $id after start (it exits at once)"
ctrp task kill "$id" >/dev/null 2>&1 || true # a no-op for the floor
ctrp task rm "$id" >/dev/null
ctrp container rm "$id" >/dev/null
wait_until 10 no_shims_left || fail "floor shim(s) still alive: $(e2e_shim_pids | tr '\n' ' ')"
# The floor's sockets: sha256(<address>/<ns>/<id>) in /run/containerd/s (1.6) or in 2.3's
# socket_dir (inside the temp dir); other containerds on the machine have sockets there too.
for id in "${ids[@]}"; do
  sock=$(printf '%s' "$E2E_ADDR/$E2E_NS/$id" | sha256sum | cut -c1-64)
  assert_empty "$(find "$SHIM_SOCK_DIR" "$E2E_DIR" -name "$sock" 2>/dev/null)" "socket of task $id left behind"
done
assert_empty "$(e2e_bundles)" "bundles left in the state dir"
assert_empty "$(grep -F 'level=error' "$E2E_DIR/containerd.log" | grep -iF floor || true)" "containerd errors naming the floor"
log "floor shim OK on containerd $E2E_CONTAINERD_VERSION"
