#!/usr/bin/env bash
# The README's main command: installs what is missing, builds the fcnrt command
# (only it: no tests or benchmarks; those are tools/test.sh's), then segments the
# sample micrograph that the repository ships (models/bsubtilis-patch31/sample_cells.png,
# rendered by tools/render_sample_cells.py) with the dense B. subtilis cell model,
# writing the colour mask, the label map and an overlay.
#
# usage: tools/demo.sh [OUTDIR]   (default ./demo-output; FCNRT_BUILD_DIR picks the build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${FCNRT_BUILD_DIR:-build}
if [[ ! -x "$build/fcnrt" ]]; then
    # Measured 2026-12-02 on a shared 2-core AMD EPYC (load 3 to 5), no ccache: configure 4 s,
    # fcnrt 227 s with the CPU backend, +28 s for the CUDA kernels (nvcc found).
    echo "fcnrt demo: the first build of fcnrt takes about 4 minutes on 2 cores (less with" \
         "more), plus installing any missing packages; later runs take seconds"
fi
tools/setup.sh fcnrt
model=models/bsubtilis-patch31/dense.json
sample=models/bsubtilis-patch31/sample_cells.png
out=${1:-demo-output}
"$build/fcnrt" segment "$model" "$sample" -o "$out" --overlay
echo "fcnrt demo: segmented $sample (cells green, their edges red, background black):"
echo "  mask:    $out/sample_cells_mask.png"
echo "  overlay: $out/sample_cells_overlay.png"
echo "  labels:  $out/sample_cells_labels.png (class indices 0 other, 1 cell, 2 edge)"
