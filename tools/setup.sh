#!/usr/bin/env bash
# Installs what fcnrt needs to build and test that this machine lacks (Debian
# packages; the CUDA toolkit is used when present, never installed here), then
# configures and builds into ./build. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake nlohmann-json3-dev libstb-dev zlib1g-dev libjpeg-dev libtiff-dev libopenblas-dev libgtest-dev
          libbenchmark-dev libprotobuf-dev protobuf-compiler libonnx-dev
          clang libclang-rt-dev)  # the last two: libFuzzer for tools/fuzz.sh
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

build_dir=${FCNRT_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${FCNRT_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
echo "fcnrt setup: built $build_dir/fcnrt"
