#!/usr/bin/env bash
# Installs what is missing, builds everything, and runs every test (ctest).
#   tools/test.sh            # build folder: ./build (CASCADE_BUILD_DIR overrides)
# Tests that need the shared collections read ../shared/data and fail with a
# clear message when it is missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CASCADE_BUILD_DIR:-$root/build}
source "$root/tools/deps.sh"
cascade_ensure_deps
cascade_configure "$root" "$build"
jobs=$(nproc)
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600
