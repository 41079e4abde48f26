#!/usr/bin/env bash
# The test command of the README and CI: set up, build, run every test, then
# list the skipped tests with the reason each gave (tools/ctest_skips.sh).
# GPU tests report SKIPPED on machines without a usable GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
build=${FCNRT_BUILD_DIR:-build}
status=0
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" || status=$?
tools/ctest_skips.sh "$build" || true
exit $status
