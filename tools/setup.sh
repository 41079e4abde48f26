#!/usr/bin/env bash
# Installs what fcnrt needs to build and test that this machine lacks (Debian
# packages; the CUDA toolkit is used when present, never installed here), then
# configures and builds into ./build. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake nlohmann-json3-dev libstb-dev zlib1g-dev libgtest-dev
          libbenchmark-dev libprotobuf-dev protobuf-compiler libonnx-dev libboost-context-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "fcnrt setup: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
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
cmake --build "$build_dir" -j"$(nproc)"
if [ "$emulation" = 1 ]; then
    echo "fcnrt setup: built $build_dir/fcnrt (CUDA backend: the CPU emulation)"
else
    echo "fcnrt setup: built $build_dir/fcnrt"
fi
