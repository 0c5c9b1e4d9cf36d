#!/usr/bin/env bash
# The timeline of the Reaper shim's part of `ctr run --rm /bin/true` (docs/benchmarks.md
# "Shim timeline"): runs bench/run.sh's latency phase with containerd (and so every shim) at
# debug level in its own private containerd, then bench/timeline.py over that containerd's
# log: Reaper's steps, and containerd's own steps for runc's shim and the floor shim in the
# same run. Debug logging itself costs a little: use the figures for where time goes, and
# bench/run.sh (info level) for the totals.
#
#   bench/timeline.sh                 # BENCH_RUNS (default 20) runs per runtime
#   REAPER_CONTAINERD=1.6 bench/timeline.sh
#   BENCH_REAPER_CONFIG='clone_into_cgroup = false' bench/timeline.sh
#                                     # extra lines of the shim's node config (docs/
#                                     # configuration.md): here the "before" of issue 18,
#                                     # every child forked and migrated into its cgroup
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
report=$(mktemp /tmp/reaper-timeline.XXXX)
trap 'rm -f "$report" "$report.err"' EXIT
E2E_REAPER_CONFIG_EXTRA=${BENCH_REAPER_CONFIG:-} BENCH_KEEP=1 BENCH_LOG_LEVEL=debug \
  BENCH_RUNS=${BENCH_RUNS:-20} "$here/run.sh" latency >"$report" 2> >(tee "$report.err" >&2)
dir=$(sed -n 's/.*keeping \(\/tmp\/reaper-e2e\.[A-Za-z0-9]*\) .*/\1/p' "$report.err" | tail -1)
[[ -n $dir && -f $dir/containerd.log ]] || { echo "timeline: no kept containerd log" >&2; exit 1; }
# containerd and every shim of that run are stopped by run.sh's trap; only the dir is left
[[ -z ${BENCH_REAPER_CONFIG:-} ]] || printf 'Reaper node config added: %s\n\n' "$BENCH_REAPER_CONFIG"
echo "Reaper (task ids lat-reaper-N):"
"$here/timeline.py" "$dir/containerd.log" lat-reaper-
for rt in runc floor; do
  # containerd's own lines only (these shims log nothing of their own at these steps)
  if grep -q "lat-$rt-" "$dir/containerd.log"; then
    printf '\n%s (task ids lat-%s-N), containerd'"'"'s steps:\n' "$rt" "$rt"
    "$here/timeline.py" "$dir/containerd.log" "lat-$rt-"
  fi
done
if grep -qF " $dir/" /proc/self/mountinfo; then
  echo "timeline: mounts left under $dir; not removing it" >&2
  exit 1
fi
rm -rf --one-file-system "$dir"
