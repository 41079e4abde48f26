#!/usr/bin/env bash
# The test command of the README and CI: set up, build, run every test.
# GPU tests report SKIPPED on machines without a usable GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
ctest --test-dir "${FCNRT_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
