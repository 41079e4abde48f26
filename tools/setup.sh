#!/usr/bin/env bash
# Installs what fcnrt needs to build and test that this machine lacks (Debian
# packages; the CUDA toolkit is used when present, never installed here), then
# configures and builds into ./build. Safe to run again: it only adds what is missing.
#
# usage: tools/setup.sh [TARGET...]   (default: every target; tools/demo.sh asks
#        for fcnrt alone). FCNRT_BUILD_DIR picks the build folder, FCNRT_CMAKE_ARGS
#        adds configure options. FCNRT_SETUP_OPTIONAL=1 also installs the optional
#        packages (below), whose tests otherwise skip; a failure there only warns.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake nlohmann-json3-dev libstb-dev zlib1g-dev libjpeg-dev libtiff-dev
          libgtest-dev libbenchmark-dev libprotobuf-dev protobuf-compiler libonnx-dev
          libboost-context-dev python3-venv
          python3-dev  # Python.h, for the Python module (python/, built by pip in the tests)
          clang libclang-rt-dev)  # the last two: libFuzzer for tools/fuzz.sh
# Optional: Debian's CPU builds of PyTorch and torchvision (about 1 GB with their
# dependencies, against PyPI's torch wheel with gigabytes of CUDA libraries), for
# ctest onnx_torch_exports_vs_onnxruntime (tests/onnx/torch_exports_vs_onnxruntime.py),
# which exports models with them in the test run; without them it skips.
optional_packages=(python3-torch python3-torchvision)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# apt_get: apt-get that waits for the package lock (tools/apt_wait.sh).
source tools/apt_wait.sh

if ((${#missing[@]})); then
    echo "fcnrt setup: installing ${missing[*]}"
    apt_get update -qq
    apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${FCNRT_SETUP_OPTIONAL:-0}" = 1 ]; then
    optional_missing=()
    for p in "${optional_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || optional_missing+=("$p")
    done
    if ((${#optional_missing[@]})); then
        echo "fcnrt setup: installing the optional ${optional_missing[*]}"
        { apt_get update -qq && apt_get install -y -qq --no-install-recommends "${optional_missing[@]}"; } ||
            echo "fcnrt setup: warning: could not install ${optional_missing[*]}; the tests that need them will skip"
    fi
fi

# nvcc is often installed outside PATH.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
fi

# The CUDA backend: built with nvcc and run on the GPU where one is usable; elsewhere
# built against the CPU emulation (emulation/cuda/README.md), so that every CUDA test
# runs on any machine. FCNRT_CUDA_EMULATION=0|1 overrides the choice.
gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=1; fi
emulation=${FCNRT_CUDA_EMULATION:-$((1 - gpu))}
if [ "$emulation" = 1 ]; then emulation_flag=ON; else emulation_flag=OFF; fi

build_dir=${FCNRT_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DFCNRT_CUDA_EMULATION=$emulation_flag \
    ${FCNRT_CMAKE_ARGS:-} >/dev/null
if (($#)); then
    cmake --build "$build_dir" -j"$(nproc)" --target "$@"
    echo "fcnrt setup: built $* in $build_dir"
else
    cmake --build "$build_dir" -j"$(nproc)"
    if [ "$emulation" = 1 ]; then
        echo "fcnrt setup: built $build_dir/fcnrt and every test and benchmark (CUDA backend: the CPU emulation)"
    else
        echo "fcnrt setup: built $build_dir/fcnrt and every test and benchmark"
    fi
fi
