# shellcheck shell=bash
# Soak through ctr (issue 8, item 3): E2E_SOAK_CYCLES (default 1000) create/start/exit/delete
# cycles (`ctr run --rm`) through ONE grouped shim, kept alive by a long-running task of the
# same group, in E2E_SOAK_WORKERS (default 2) parallel workers. Every cycle's exit code is
# checked; the shim's fds, threads and RSS, the mounts, the Reaper state root, containerd's
# bundles and the run's cgroups are sampled after E2E_SOAK_WARMUP (default 50) cycles and at
# the end, and must not grow (RSS: at most E2E_SOAK_RSS_KB, default 256 KiB; see below).
# Sourced by run.sh (which provides lib.sh, the private containerd and the image).

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  exec "$(dirname "$0")/run.sh" "$@"
fi

E2E_SOAK_CYCLES=${E2E_SOAK_CYCLES:-1000}
E2E_SOAK_WARMUP=${E2E_SOAK_WARMUP:-50}
E2E_SOAK_WORKERS=${E2E_SOAK_WORKERS:-2}
# RSS bound: the shim is a single-threaded static binary of ~1.9 MiB RSS; malloc may keep a
# few freed pages of its heap top after a burst, but a real leak of the smallest per-container
# object (id strings, the spec, an I/O record: hundreds of bytes at least) over ~950 cycles is
# >= 256 KiB. 64 pages also absorbs allocator noise without hiding such a leak.
E2E_SOAK_RSS_KB=${E2E_SOAK_RSS_KB:-256}

# Entries of the run's state: Reaper's state root (its upper layers excluded: what workloads
# write is theirs to keep), containerd's bundles and snapshots, the run's cgroups.
soak_state() {
  local cg
  if [[ -d $E2E_DIR/reaper ]]; then
    find "$E2E_DIR/reaper" -path '*/upper/*' -prune -o -print | sort
  fi
  e2e_bundles | sed 's/^/bundle /'
  ctrp snapshots ls 2>/dev/null | awk 'NR > 1 { print "snapshot " $1 }' | sort
  cg=$(cgroup2_root)
  if [[ -n $cg && -d $cg/reaper/$E2E_NS ]]; then
    # shared by every test run on the node: only this run's containers (ids carry its token)
    find "$cg/reaper/$E2E_NS" -mindepth 1 -maxdepth 1 -type d -name "$(cid '*')" | sort | sed 's/^/cgroup /'
  fi
}

# soak_sample <shim-pid> <file>: "key value" lines plus the mount and state listings.
soak_sample() {
  local pid=$1 out=$2
  {
    echo "fds $(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)"
    awk '/^VmRSS:/ { print "rss_kb " $2 } /^Threads:/ { print "threads " $2 }' "/proc/$pid/status"
    echo "mounts $(e2e_node_mounts | wc -l)"
    echo "state $(soak_state | wc -l)"
  } >"$out"
  ls -l "/proc/$pid/fd" >"$out.fds" 2>&1 || true
  e2e_node_mounts >"$out.mounts"
  soak_state >"$out.state"
}

sample_value() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# Equal counts of fds, threads, mounts and state entries in two samples.
samples_flat() {
  local k
  for k in fds threads mounts state; do
    [[ $(sample_value "$1" "$k") == "$(sample_value "$2" "$k")" ]] || return 1
  done
}

# soak_settled <shim-pid> <reference-sample> <new-sample>: takes the new sample; true if flat.
soak_settled() { soak_sample "$1" "$3" && samples_flat "$2" "$3"; }
# soak_stable <shim-pid> <sample>: true once two samples in a row are flat (nothing in flight).
soak_stable() {
  if [[ -f $2 ]]; then cp "$2" "$2.prev"; else soak_sample "$1" "$2.prev"; fi
  soak_settled "$1" "$2.prev" "$2"
}

# soak_worker <worker> <first-cycle> <last-cycle> <group> <results-file>
# Runs the cycles i in [first, last] with i % workers == worker; records "i rc".
soak_worker() {
  local w=$1 first=$2 last=$3 group=$4 res=$5 i rc
  for ((i = first; i <= last; i++)); do
    (( i % E2E_SOAK_WORKERS == w )) || continue
    rc=0
    ctrp run --rm --runtime "$RUNTIME" --env "E2E_MARK=$E2E_DIR" \
      --annotation "io.containerd.runc.v2.group=$group" "$E2E_IMAGE" "$(cid "soak-$i")" \
      /bin/sh -c "exit $((i % 256))" </dev/null >/dev/null 2>>"$res.err.$w" || rc=$?
    echo "$i $rc" >>"$res"
  done
}

# soak_cycles <first> <last> <group> <results-file>: all workers, waits for them.
soak_cycles() {
  local w pids=() p
  for ((w = 0; w < E2E_SOAK_WORKERS; w++)); do
    soak_worker "$w" "$1" "$2" "$3" "$4" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
}

# Leftover soak containers (only after a failure): removed so that later tests start clean.
soak_cleanup() {
  local id
  for id in $(ctrp containers ls -q 2>/dev/null | grep -E "^$(cid soak-)[0-9]+\$"); do
    cleanup_container "$id"
  done
}

t_soak_ctr() {
  [[ $E2E_SOAK_CYCLES =~ ^[1-9][0-9]*$ && $E2E_SOAK_WARMUP =~ ^[0-9]+$ && $E2E_SOAK_WORKERS =~ ^[1-9][0-9]*$ ]] ||
    fail "E2E_SOAK_CYCLES, E2E_SOAK_WARMUP, E2E_SOAK_WORKERS must be integers"
  (( E2E_SOAK_WARMUP < E2E_SOAK_CYCLES )) || fail "E2E_SOAK_WARMUP must be below E2E_SOAK_CYCLES"
  local keep group=soak shim res=$E2E_DIR/data/soak.results s0=$E2E_DIR/data/soak.warm
  local s1=$E2E_DIR/data/soak.end t0 t1 bad k v0 v1
  keep=$(cid soak-keep)
  : >"$res"
  trap soak_cleanup EXIT
  assert_wait 30 "no shims before the test" no_shims_left
  ctr_run -d --annotation "io.containerd.runc.v2.group=$group" -- "$keep" sleep 100000
  assert_wait 20 "long-running task running" task_is "$keep" RUNNING
  shim=$(e2e_shim_pids)
  assert_eq 1 "$(grep -c . <<<"$shim")" "shim processes of the group ($shim)"

  t0=$(date +%s%N)
  soak_cycles 1 "$E2E_SOAK_WARMUP" "$group" "$res"
  assert_wait 10 "resources stable after the warm-up" soak_stable "$shim" "$s0"
  t1=$(date +%s%N)
  soak_cycles $((E2E_SOAK_WARMUP + 1)) "$E2E_SOAK_CYCLES" "$group" "$res"
  echo "cycles: $E2E_SOAK_CYCLES in $(( ($(date +%s%N) - t0) / 1000000 )) ms" \
    "($(( ($(date +%s%N) - t1) / 1000000 / (E2E_SOAK_CYCLES - E2E_SOAK_WARMUP) )) ms per cycle after the warm-up," \
    "$E2E_SOAK_WORKERS workers)"
  kill -0 "$shim" 2>/dev/null || fail "the group's shim $shim exited during the soak"
  assert_eq "$shim" "$(e2e_shim_pids)" "shim processes after the soak (one shim for every cycle)"

  # Every cycle ran once and exited with its own code (ctr run's exit status).
  assert_eq "$E2E_SOAK_CYCLES" "$(sort -un "$res" | wc -l)" "cycles recorded"
  bad=$(awk '$2 != $1 % 256' "$res" | head -n 5)
  if [[ -n $bad ]]; then
    cat "$res".err.* >&2 || true
    fail "cycles with a wrong exit status (cycle status): $(tr '\n' ' ' <<<"$bad")"
  fi

  # Flat: the end sample equals the warm-up one once the last delete's work is done.
  wait_until 10 soak_settled "$shim" "$s0" "$s1" || true
  echo "warm-up sample: $(tr '\n' ' ' <"$s0")"
  echo "end sample:     $(tr '\n' ' ' <"$s1")"
  for k in fds threads mounts state; do
    v0=$(sample_value "$s0" "$k") v1=$(sample_value "$s1" "$k")
    if [[ $v0 != "$v1" ]]; then
      if [[ -f $s0.$k ]]; then diff "$s0.$k" "$s1.$k" >&2 || true; fi
      fail "$k after cycle $E2E_SOAK_WARMUP: $v0, after cycle $E2E_SOAK_CYCLES: $v1"
    fi
  done
  v0=$(sample_value "$s0" rss_kb) v1=$(sample_value "$s1" rss_kb)
  (( v1 - v0 <= E2E_SOAK_RSS_KB )) ||
    fail "shim RSS grew from $v0 kB to $v1 kB (bound $E2E_SOAK_RSS_KB kB)"
  assert_empty "$(e2e_bundles | grep -vxF "$keep")" "bundles besides the long-running task's"

  cleanup_container "$keep"
  assert_wait 15 "the group's shim exits after its last task" pid_gone "$shim"
  assert_empty "$(e2e_marked_pids)" "workload processes left"
}

register_test soak_ctr t_soak_ctr
