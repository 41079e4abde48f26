#!/usr/bin/python3
"""Accuracy of each --precision against the float64 reference backend, per model.

    /usr/bin/python3 tools/precision_report.py --fcnrt build/fcnrt [--crop 96] [--out FILE]

Models: the small zoo cases tests/golden/zoo_* (each on its committed input) and the
cell model models/bsubtilis-patch31/dense.json on a centred CROPxCROP crop of its
sample image (0: the whole image; raw 16-bit counts, normalised as its metadata "preprocess" says).
Each runs with `fcnrt run --device reference` (float64 arithmetic in every kernel)
and `fcnrt run --device cuda --precision P` for P in fp32, tf32, bf16, fp16 (a GPU,
or the CUDA emulation of an emulated build: FCNRT_CUDA_EMU_CHECKS=none is set
unless the caller set it, so that it finishes in minutes). Reported per model and
precision: the max-norm relative error max|y - ref| / max|ref| of every output, and,
for outputs with a channel axis ([N, C, H, W] scores, or [N, C] class scores), the
share of pixels whose argmax over C differs from the fp32 run's. Prints a Markdown
table; exits 1 when a run fails.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PRECISIONS = ["fp32", "tf32", "bf16", "fp16"]


def run(fcnrt, model, inputs, outputs, device, precision=None):
    cmd = [fcnrt, "run", model, "--device", device, "--quiet"]
    if precision:
        cmd += ["--precision", precision]
    for name, path in inputs.items():
        cmd += ["--input", f"{name}={path}"]
    for name, path in outputs.items():
        cmd += ["--output", f"{name}={path}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"precision_report: {' '.join(cmd)} failed: {r.stderr.strip()}")
    return {name: np.load(path) for name, path in outputs.items()}


def cell_input(crop, work):
    try:
        from PIL import Image  # the sample image is a 16-bit PNG
    except ImportError:
        print("precision_report: note: no PIL here; the cell model is left out", file=sys.stderr)
        return None
    model = os.path.join(ROOT, "models/bsubtilis-patch31/dense.json")
    meta = json.load(open(model))["metadata"]["preprocess"]
    img = np.asarray(Image.open(os.path.join(ROOT, "models/bsubtilis-patch31/sample_cells.png")),
                     dtype=np.float64)
    h, w = img.shape
    crop_h, crop_w = (h, w) if crop <= 0 else (min(crop, h), min(crop, w))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    v = img[top:top + crop_h, left:left + crop_w] * meta["scale"]
    x = ((v - meta["mean"][0]) / meta["std"][0]).astype(np.float32)[None, None]
    path = os.path.join(work, "cells_input.npy")
    np.save(path, x)
    what = "sample_cells.png" if (crop_h, crop_w) == (h, w) else \
        f"{crop_h}x{crop_w} centre crop of sample_cells.png"
    return model, {"image": path}, ["scores"], what


def golden_cases(work):
    cases = []
    for case in sorted(glob.glob(os.path.join(ROOT, "tests/golden/zoo_*"))):
        inputs = {os.path.basename(p)[len("input_"):-len(".npy")]: p
                  for p in glob.glob(os.path.join(case, "input_*.npy"))}
        outs = [os.path.basename(p)[len("output_"):-len(".npy")]
                for p in glob.glob(os.path.join(case, "output_*.npy"))]
        shapes = ", ".join(str(list(np.load(p).shape)) for p in inputs.values())
        cases.append((os.path.basename(case), os.path.join(case, "model.json"), inputs, outs,
                      f"input {shapes}"))
    return cases


def argmax_disagreement(a, b):
    if a.ndim < 2 or a.shape[1] < 2:
        return None
    return float(np.mean(np.argmax(a, axis=1) != np.argmax(b, axis=1)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fcnrt", default=os.path.join(ROOT, "build/fcnrt"))
    ap.add_argument("--crop", type=int, default=96, help="cell model crop side (default 96; 0: the whole 512x384 image)")
    ap.add_argument("--out", help="also write the table to this file")
    args = ap.parse_args()
    os.environ.setdefault("FCNRT_CUDA_EMU_CHECKS", "none")

    with tempfile.TemporaryDirectory() as work:
        cases = golden_cases(work)
        cell = cell_input(args.crop, work)
        if cell:
            cases.append(("bsubtilis-patch31 dense",) + cell)
        lines = ["| model | size | precision | max rel. error vs float64 | argmax differs from fp32 |",
                 "|---|---|---|---:|---:|"]
        for name, model, inputs, outs, what in cases:
            def paths(tag):
                return {o: os.path.join(work, f"{name}_{tag}_{o}.npy") for o in outs}
            ref = run(args.fcnrt, model, inputs, paths("ref"), "reference")
            got = {p: run(args.fcnrt, model, inputs, paths(p), "cuda", p) for p in PRECISIONS}
            for p in PRECISIONS:
                errs, shares = [], []
                for o in outs:
                    r, g = ref[o].astype(np.float64), got[p][o].astype(np.float64)
                    scale = np.max(np.abs(r)) or 1.0
                    errs.append(float(np.max(np.abs(g - r)) / scale))
                    s = argmax_disagreement(g, got["fp32"][o])
                    if s is not None:
                        shares.append(s)
                share = f"{100 * max(shares):.3f}%" if shares else "n/a"
                lines.append(f"| {name} | {what} | {p} | {max(errs):.2e} | {share} |")
                print(lines[-1], file=sys.stderr, flush=True)
        table = "\n".join(lines)
        print(table)
        if args.out:
            with open(args.out, "w") as f:
                f.write(table + "\n")


if __name__ == "__main__":
    main()
