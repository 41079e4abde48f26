"""One `fcnrt run` of an ONNX model against onnxruntime's outputs, shared by the
ONNX comparison scripts of this folder (issue14_vs_onnxruntime.py,
torch_exports_vs_onnxruntime.py)."""
import os
import subprocess

import numpy as np

TOLERANCE = 1e-5  # of each output's range


def max_error(got, ref):
    """max |got - ref| over the range of ref's values; None when the shapes differ."""
    scale = max(float(ref.max() - ref.min()), 1e-30)
    return float(np.abs(got.astype(np.float64) - ref).max()) / scale if got.shape == ref.shape else None


def run_and_compare(fcnrt, model, xpath, names, want, device, work, tag):
    """Runs `fcnrt run MODEL --input x=XPATH --device DEVICE` at fp32 (CUDA's default
    is tf32, which this tolerance is not for) and compares each output `names[i]`
    with onnxruntime's `want[i]`: max |fcnrt - ort| over the range of ort's values.
    Prints a line per output. Returns (failures, cuda_note): failure lines, and
    fcnrt's message when DEVICE is cuda and no usable CUDA device exists (the run
    is then not counted as a failure)."""
    outs = [os.path.join(work, f"{tag}.{device}.{o}.npy") for o in names]
    cmd = [fcnrt, "run", model, "--input", "x=" + xpath, "--device", device, "--precision", "fp32"]
    for o, f in zip(names, outs):
        cmd += ["--output", f"{o}={f}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        if device == "cuda" and "no usable CUDA device" in r.stderr:
            return [], r.stderr.strip()
        print(f"{tag} [{device}]: FAIL {r.stderr.strip()}")
        return [f"{tag} [{device}]: {r.stderr.strip()}"], None
    failures = []
    for o, f, ref in zip(names, outs, want):
        got = np.load(f)
        err = max_error(got, ref)
        status = "ok" if err is not None and err <= TOLERANCE else "FAIL"
        print(f"{tag} [{device}] {o}: shape {got.shape}, error {err} of the range: {status}")
        if status != "ok":
            failures.append(f"{tag} [{device}] {o}: shape {got.shape} vs {ref.shape}, error {err}")
    return failures, None
