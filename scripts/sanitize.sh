#!/usr/bin/env bash
# ASan+UBSan run: builds Reaper with -DREAPER_SANITIZE=ON (GCC, dynamic, own build dir), then
# runs the unit and shim integration tests and a short end-to-end subset with that shim.
# Any sanitizer report fails the run: halt_on_error makes it fatal where it happens, and
# log_path sends it to a file in one directory, so a report from the daemonised shim (whose
# stderr is containerd's log) or a helper is seen too. Must run as root (e2e tests).
#
#   scripts/sanitize.sh                       # build, unit tests, e2e subset
#   SANITIZE_E2E='echo|exec_and_ps' scripts/sanitize.sh
#
# Env: REAPER_ASAN_BUILD_DIR (default <repo>/build-asan), SANITIZE_E2E (ERE of e2e tests,
# "" skips them), SANITIZE_UNIT_FILTER (gtest filter, default all).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${REAPER_ASAN_BUILD_DIR:-$repo/build-asan}
e2e=${SANITIZE_E2E-'^(echo|exit_code|stdin_1mib|exec_and_ps|grouping)$'}

log() { printf '[sanitize %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DREAPER_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
bins=(containerd-shim-reaper-v2 reaper-runtime reaper-overlay reaper_unit_tests reaper_codec_tests)
log "building ${bins[*]} in $build"
cmake --build "$build" --target "${bins[@]}"
for b in "${bins[@]}"; do
  # A static binary would have no sanitizer runtime to load: it must link libasan.so.
  if ! readelf -d "$build/$b" | grep -q 'NEEDED.*libasan'; then
    log "FAIL: $build/$b is not linked against libasan (static?)"
    exit 1
  fi
done

work=$(mktemp -d /tmp/reaper-sanitize.XXXX)
reports=$work/reports
mkdir "$reports"
# shellcheck disable=SC2317  # run by the EXIT trap
finish() {
  local rc=$?
  if [[ $rc -eq 0 ]]; then rm -rf "$work"; else log "logs and reports kept in $work"; fi
  exit "$rc"
}
trap finish EXIT

# Inherited by the tests, the private containerd, the shim and its helpers (not by workloads:
# they get only their spec's environment, and are not instrumented anyway).
# SANITIZE_ASAN_EXTRA appends options (verbosity=1 makes every process write a file: a
# self-test that the run fails when reports appear).
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$reports/asan:log_exe_name=1${SANITIZE_ASAN_EXTRA:+:$SANITIZE_ASAN_EXTRA}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan:log_exe_name=1"

check_reports() {
  local f found=0
  for f in "$reports"/*; do
    [[ -f $f ]] || continue
    found=1
    log "sanitizer report $f:"
    head -n 80 "$f" >&2
  done
  return "$found"
}

status=0
log "unit and shim integration tests"
if ! "$build/reaper_unit_tests" --gtest_filter="${SANITIZE_UNIT_FILTER:-*}" >"$work/unit.out" 2>&1; then
  tail -n 60 "$work/unit.out" >&2
  log "FAIL: unit tests"
  status=1
fi
grep -E '^\[  (PASSED|FAILED) ' "$work/unit.out" >&2 || true
# The message decoder on every prefix and random mutations of each message type's encoding.
log "message code against libprotobuf"
if ! "$build/reaper_codec_tests" >"$work/codec.out" 2>&1; then
  tail -n 60 "$work/codec.out" >&2
  log "FAIL: codec tests"
  status=1
fi
grep -E '^\[  (PASSED|FAILED) ' "$work/codec.out" >&2 || true
if [[ -n $e2e ]]; then
  log "end-to-end subset '$e2e' with the ASan shim"
  if ! REAPER_BIN_DIR=$build "$repo/tests/e2e/run.sh" "$e2e"; then
    log "FAIL: end-to-end subset"
    status=1
  fi
fi
if ! check_reports; then
  log "FAIL: sanitizer reports (above)"
  status=1
fi
((status == 0)) && log "no sanitizer report; unit tests and e2e subset passed"
exit "$status"
