#!/usr/bin/env bash
# The test command of the README and CI: set up, build, run every test, then
# list the skipped tests with the reason each gave (tools/ctest_skips.sh).
# Without a usable GPU the CUDA backend is built against the CPU emulation
# (emulation/cuda/README.md) and every CUDA test (ctest label `cuda`) runs there with
# all its checks; with one, they run on the GPU. Where nvcc is installed but no GPU,
# the nvcc build of the CUDA code is compiled as well (into BUILD-nvcc: the CLI, the
# CUDA tests and the CUDA benchmark), so that both builds of the same sources stay
# working; FCNRT_NVCC_CHECK=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
build_dir=${FCNRT_BUILD_DIR:-build}

if grep -q '^FCNRT_CUDA_EMULATION:BOOL=ON' "$build_dir/CMakeCache.txt" && [ "${FCNRT_NVCC_CHECK:-1}" = 1 ]; then
    nvcc=$(command -v nvcc || true)
    [ -n "$nvcc" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc; } || true
    if [ -n "$nvcc" ]; then
        echo "fcnrt test: compiling the CUDA code with nvcc too ($build_dir-nvcc, not run: no GPU)"
        cmake -S . -B "$build_dir-nvcc" -DCMAKE_BUILD_TYPE=Release -DFCNRT_WITH_CUDA=ON \
            -DFCNRT_CUDA_EMULATION=OFF -DCMAKE_CUDA_COMPILER="$nvcc" >/dev/null
        cmake --build "$build_dir-nvcc" -j"$(nproc)" --target fcnrt test_kernels_cuda test_cuda_wmma test_cuda_multi_device \
            test_golden_models_cuda bench_cuda_kernels
    else
        echo "fcnrt test: no nvcc here: the CUDA code was built only against the emulation"
    fi
fi

status=0
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" || status=$?
tools/ctest_skips.sh "$build_dir" || true
# Fuzzing (tools/fuzz.sh): ctest above replayed the regression corpus with
# this build (fuzz_regression_*); here each target is also fuzzed briefly
# under ASan and UBSan, built with clang in build-fuzz. FCNRT_CI_FUZZ_SECONDS
# per target (default 10; 0 skips).
fuzz_seconds=${FCNRT_CI_FUZZ_SECONDS:-10}
if ((fuzz_seconds > 0)); then
    tools/fuzz.sh "$fuzz_seconds" || status=$?
fi
exit $status
