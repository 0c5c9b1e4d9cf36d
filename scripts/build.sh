#!/usr/bin/env bash
# Configures and builds Reaper into ./build (Ninja). Extra arguments go to cmake.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${REAPER_BUILD_DIR:-$repo/build}
[[ -f $build/build.ninja ]] || cmake -S "$repo" -B "$build" -G Ninja "$@" >/dev/null
ninja -C "$build"
