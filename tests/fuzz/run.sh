#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, own build dir) and runs each for a bounded
# time on its committed seed corpus (fuzz/corpus/<target>). Fails on any crash, sanitizer
# report, leak, timeout or out-of-memory; the input that did it is kept and printed.
#
#   tests/fuzz/run.sh                 # every target, FUZZ_SECONDS each
#   tests/fuzz/run.sh 'oci|node'      # targets whose name matches an ERE
#   tests/fuzz/run.sh -l              # list the targets
#
# Env: FUZZ_SECONDS (default 30 per target), REAPER_FUZZ_BUILD_DIR (default <repo>/build-fuzz),
# CXX (default clang++-14), FUZZ_KEEP=1 keeps the work dir (new corpus units, artifacts).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${REAPER_FUZZ_BUILD_DIR:-$repo/build-fuzz}
seconds=${FUZZ_SECONDS:-30}
targets=(ttrpc_frame ttrpc_dispatch message_codec oci_spec node_config pod_manifest)

if [[ ${1:-} == -l ]]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi
pattern=${1:-.}
selected=()
for t in "${targets[@]}"; do
  if [[ $t =~ $pattern ]]; then selected+=("$t"); fi
done
((${#selected[@]})) || { echo "no fuzz target matches '$pattern'" >&2; exit 1; }

log() { printf '[fuzz %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ ! -f $build/CMakeCache.txt ]]; then
  generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi
  CC=${CC:-clang-14} CXX=${CXX:-clang++-14} cmake -S "$repo" -B "$build" "${generator[@]}" \
    -DREAPER_FUZZ=ON -DREAPER_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
log "building ${selected[*]} in $build"
cmake --build "$build" --target "${selected[@]/%/_fuzz}"

work=$(mktemp -d /tmp/reaper-fuzz.XXXX)
finish() {
  local rc=$?
  if [[ $rc -ne 0 || ${FUZZ_KEEP:-0} == 1 ]]; then log "work dir kept: $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap finish EXIT

# Every report is fatal and ends the run with a non-zero code.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=()
for t in "${selected[@]}"; do
  seeds=$repo/fuzz/corpus/$t
  [[ -d $seeds ]] || { log "$t: no seed corpus at $seeds"; failed+=("$t"); continue; }
  mkdir -p "$work/$t/new"
  log "$t: ${seconds}s on $(find "$seeds" -type f | wc -l) seeds"
  # New units go to the first (scratch) dir; the committed seeds are only read.
  if "$build/fuzz/${t}_fuzz" "$work/$t/new" "$seeds" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$work/$t/" >"$work/$t/log" 2>&1; then
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$t/log" | tail -n 1 || true)
    log "$t: ok ${done_line:-"(no DONE line)"}"
  else
    log "$t: FAILED"
    tail -n 60 "$work/$t/log" >&2
    for a in "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* "$work/$t"/oom-*; do
      [[ -f $a ]] || continue
      log "$t: input $a"
      od -A d -c "$a" | head -n 20 >&2
    done
    failed+=("$t")
  fi
done

if ((${#failed[@]})); then
  log "FAILED: ${failed[*]} (add the input to fuzz/corpus/<target>/ once fixed)"
  exit 1
fi
log "all ${#selected[@]} targets ran ${seconds}s each without a finding"
