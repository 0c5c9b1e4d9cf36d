#!/usr/bin/env bash
# The timeline of the Reaper shim's part of `ctr run --rm /bin/true` (docs/benchmarks.md
# "Shim timeline"): runs bench/run.sh's latency phase with containerd (and so every shim) at
# debug level in its own private containerd, then bench/timeline.py over that containerd's
# log. Debug logging itself costs a little: use the figures for where time goes, and
# bench/run.sh (info level) for the totals.
#
#   bench/timeline.sh                 # BENCH_RUNS (default 20) runs per runtime
#   REAPER_CONTAINERD=1.6 bench/timeline.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
report=$(mktemp /tmp/reaper-timeline.XXXX)
trap 'rm -f "$report"' EXIT
BENCH_KEEP=1 BENCH_LOG_LEVEL=debug BENCH_RUNS=${BENCH_RUNS:-20} "$here/run.sh" latency >"$report" 2> >(tee "$report.err" >&2)
dir=$(sed -n 's/.*keeping \(\/tmp\/reaper-e2e\.[A-Za-z0-9]*\) .*/\1/p' "$report.err" | tail -1)
rm -f "$report.err"
[[ -n $dir && -f $dir/containerd.log ]] || { echo "timeline: no kept containerd log" >&2; exit 1; }
# containerd and every shim of that run are stopped by run.sh's trap; only the dir is left
"$here/timeline.py" "$dir/containerd.log" reaper
if grep -qF " $dir/" /proc/self/mountinfo; then
  echo "timeline: mounts left under $dir; not removing it" >&2
  exit 1
fi
rm -rf --one-file-system "$dir"
