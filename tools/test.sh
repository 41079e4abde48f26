#!/usr/bin/env bash
# The test command of the README and CI: set up, build, run every test.
# GPU tests report SKIPPED on machines without a usable GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
ctest --test-dir "${FCNRT_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
# Fuzzing (tools/fuzz.sh): ctest above replayed the regression corpus with
# this build (fuzz_regression_*); here each target is also fuzzed briefly
# under ASan and UBSan, built with clang in build-fuzz. FCNRT_CI_FUZZ_SECONDS
# per target (default 10; 0 skips): about 4 minutes on 2 cores with the
# clang build.
fuzz_seconds=${FCNRT_CI_FUZZ_SECONDS:-10}
if ((fuzz_seconds > 0)); then
    tools/fuzz.sh "$fuzz_seconds"
fi
