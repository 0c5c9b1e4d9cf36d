#!/usr/bin/env bash
# Runs every test: installs the Debian packages it needs, builds, then runs the unit and
# shim integration tests and the end-to-end suite (its own private containerd) via ctest.
# Must run as root (the end-to-end tests start containerd and run processes as other users).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/install-deps.sh"
"$repo/scripts/build.sh"
cd "${REAPER_BUILD_DIR:-$repo/build}"
ctest --output-on-failure --timeout 1800 "$@"
