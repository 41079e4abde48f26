#!/usr/bin/env bash
# The README's main command: set up and build, then run a sample model that the
# repository ships (a small U-Net with PyTorch-made reference outputs), showing
# its layer table and checking its output.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
build=${FCNRT_BUILD_DIR:-build}
sample=tests/golden/graph_unet_valid
out=$(mktemp -d)
"$build/fcnrt" info "$sample/model.json" --size 64x64
"$build/fcnrt" run "$sample/model.json" --input "x=$sample/input_x.npy" \
    --output "scores=$out/scores.npy" --output "labels=$out/labels.npy"
"$build/fcnrt" run "$sample/model.json" --input "x=$sample/input_x.npy"
echo "fcnrt demo: wrote $out/scores.npy and $out/labels.npy"
