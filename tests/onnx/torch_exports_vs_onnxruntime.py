#!/usr/bin/env python3
"""Issue 14: models exported by PyTorch in the test run, through `fcnrt run`,
against onnxruntime.

Each case is a small torch module with one of the patterns of issue 14 (PReLU
per channel and scalar, ELU, GELU erf and tanh, Reflection/Replication/ZeroPad2d
with asymmetric pads, PixelShuffle/PixelUnshuffle, an attention gate
[N,1,H,W] * [N,C,H,W], InstanceNorm2d with and without affine, GroupNorm) and
torchvision's deeplabv3_mobilenet_v3_large and fcn_resnet50 (random weights, eval
mode), exported by torch.onnx with dynamic batch, height and width. Each is run at two sizes
other than the export size, batch 1 and 4, by onnxruntime and by `fcnrt run` on
the CPU (and CUDA, a GPU or the emulation build: the small cases at both sizes,
DeepLab at one tiny size), which must agree to 1e-5 of the range of
onnxruntime's output. torchvision's fcn_resnet50 likewise on the CPU. The DeepLab
export also goes through `fcnrt import` (the JSON must keep running at a new
size) and `fcnrt segment` on an image.

PyTorch comes from a second Python (Debian's python3-torch and
python3-torchvision, CPU builds: PyPI's torch wheel brings gigabytes of CUDA
libraries): FCNRT_TORCH_PYTHON, else the system's python3. That Python only
exports (this script re-runs itself with --export); the comparison runs in the
Python running this script (the build folder's venv, with onnx and onnxruntime).

Usage: torch_exports_vs_onnxruntime.py FCNRT_BINARY WORK_DIR
       torch_exports_vs_onnxruntime.py --export WORK_DIR   (in the torch Python)
Exits 77 (ctest's skip), saying why, when onnxruntime, numpy, torch or
torchvision is missing.
"""
import json
import os
import shutil
import subprocess
import sys

EXPORT_SIZE = (2, 16, 20)  # batch, H, W of the traced input


def export(work):
    import torch
    import torch.nn as nn
    import torchvision

    torch.manual_seed(14)

    class Act(nn.Module):  # conv, then PReLU per channel, ELU, scalar PReLU
        def __init__(self, c):
            super().__init__()
            self.conv = nn.Conv2d(3, c, 3, padding=1)
            self.prelu_c, self.elu, self.prelu_1 = nn.PReLU(c, 0.1), nn.ELU(0.7), nn.PReLU(init=0.3)
            with torch.no_grad():
                self.prelu_c.weight.uniform_(-1, 1)

        def forward(self, x):
            return self.prelu_1(self.elu(self.prelu_c(self.conv(x))))

    class Gelu(nn.Module):
        def __init__(self, approximate):
            super().__init__()
            self.conv, self.gelu = nn.Conv2d(3, 4, 1), nn.GELU(approximate=approximate)

        def forward(self, x):
            return self.gelu(self.conv(x))

    class Pads(nn.Module):  # asymmetric pads, each kind, summed after cropping to one size
        def __init__(self):
            super().__init__()
            self.r, self.e, self.z = nn.ReflectionPad2d((1, 2, 0, 3)), nn.ReplicationPad2d((3, 0, 2, 1)), nn.ZeroPad2d((0, 1, 2, 0))

        def forward(self, x):
            return self.r(x), self.e(x), self.z(x)

    class Pixel(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.shuffle, self.unshuffle = nn.PixelShuffle(2), nn.PixelUnshuffle(2)

        def forward(self, x):
            return self.unshuffle(self.shuffle(self.conv(x)) + 1.0)

    class Attention(nn.Module):  # gate [N,1,H,W] times features [N,C,H,W]
        def __init__(self):
            super().__init__()
            self.feat, self.gate = nn.Conv2d(3, 6, 3, padding=1), nn.Conv2d(3, 1, 1)

        def forward(self, x):
            return self.feat(x) * torch.sigmoid(self.gate(x))

    class Norms(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.inorm, self.inorm_affine = nn.InstanceNorm2d(8), nn.InstanceNorm2d(8, affine=True)
            self.gnorm = nn.GroupNorm(2, 8)
            with torch.no_grad():
                for p in list(self.inorm_affine.parameters()) + list(self.gnorm.parameters()):
                    p.uniform_(-2, 2)

        def forward(self, x):
            y = self.conv(x)
            return self.inorm(y), self.inorm_affine(y), self.gnorm(y)

    class DeepLab(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
                weights=None, weights_backbone=None, num_classes=5)

        def forward(self, x):
            return self.net(x)["out"]

    class Fcn(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torchvision.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None,
                                                                    num_classes=3)

        def forward(self, x):
            return self.net(x)["out"]

    cases = {"act": Act(5), "gelu_erf": Gelu("none"), "gelu_tanh": Gelu("tanh"), "pads": Pads(),
             "pixel": Pixel(), "attention": Attention(), "norms": Norms(), "deeplabv3_mobilenet": DeepLab(), "fcn_resnet50": Fcn()}
    n, h, w = EXPORT_SIZE
    written = {}
    for name, module in cases.items():
        module.eval()
        big = name in ("deeplabv3_mobilenet", "fcn_resnet50")
        x = torch.rand(n, 3, 64 if big else h, 64 if big else w)
        with torch.no_grad():
            outs = module(x)
        count = len(outs) if isinstance(outs, tuple) else 1
        names = [f"y{k}" for k in range(count)]
        axes = {"x": {0: "n", 2: "h", 3: "w"}}
        axes.update({o: {0: "n", 2: "oh", 3: "ow"} for o in names})
        path = os.path.join(work, name + ".onnx")
        torch.onnx.export(module, x, path, input_names=["x"], output_names=names, dynamic_axes=axes,
                          opset_version=13)
        written[name] = path
    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "models": written}))


def torch_python():
    """A Python with torch and torchvision, or None and the reason."""
    candidates = [os.environ["FCNRT_TORCH_PYTHON"]] if os.environ.get("FCNRT_TORCH_PYTHON") else []
    candidates += [p for p in ("/usr/bin/python3", shutil.which("python3")) if p]
    for py in candidates:
        r = subprocess.run([py, "-c", "import torch, torchvision"], capture_output=True, text=True)
        if r.returncode == 0:
            return py, None
    return None, ("no Python with torch and torchvision (tried " + ", ".join(candidates) +
                  "; Debian: apt-get install python3-torch python3-torchvision, or set FCNRT_TORCH_PYTHON)")


# Sizes fcnrt runs each case at (batch, H, W): not the export size, batch 1 and 4.
SIZES = {"default": [(1, 9, 13), (4, 12, 7)], "deeplabv3_mobilenet": [(1, 72, 56), (4, 40, 48)],
         "fcn_resnet50": [(1, 44, 36), (4, 24, 32)]}
CUDA_CASES = {"act", "gelu_erf", "gelu_tanh", "pads", "pixel", "attention", "norms"}
# The big models on cuda at one tiny size only (the emulation takes about a minute).
CUDA_ONLY_SIZES = {"deeplabv3_mobilenet": [(1, 17, 23)]}


def imported_and_segmented(fcnrt, work, path, rng):
    """`fcnrt import` keeps the dynamic sizes (the JSON runs at a size other than the
    export's), and `fcnrt segment` runs the ONNX model on an image (untiled: global
    pooling) with the scores of onnxruntime's softmax."""
    import onnxruntime as ort
    failures = []
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    base = os.path.join(work, "deeplab_imported")
    r = subprocess.run([fcnrt, "import", path, "-o", base + ".json"], capture_output=True, text=True)
    if r.returncode != 0:
        return [f"fcnrt import {path}: {r.stderr.strip()}"]
    with open(base + ".json") as f:
        doc = json.load(f)
    dynamic = [nd["name"] for nd in doc["nodes"] if nd.get("size_from_input")]
    print(f"imported JSON: {len(dynamic)} resize nodes with size_from_input, input shape {doc['inputs'][0]['shape']}")
    if not dynamic:
        failures.append("the imported deeplab JSON has no resize with size_from_input")
    x = rng.uniform(-1, 1, (2, 3, 52, 44)).astype(np.float32)
    np.save(base + ".x.npy", x)
    r = subprocess.run([fcnrt, "run", base + ".json", "--input", "x=" + base + ".x.npy", "--output",
                        "y0=" + base + ".y.npy", "--precision", "fp32"], capture_output=True, text=True)
    if r.returncode != 0:
        failures.append(f"fcnrt run {base}.json: {r.stderr.strip()}")
    else:
        err = max_error(np.load(base + ".y.npy"), sess.run(None, {"x": x})[0])
        print(f"imported JSON at (2, 3, 52, 44): error {err} of the range: {'ok' if err is not None and err <= 1e-5 else 'FAIL'}")
        if err is None or err > 1e-5:
            failures.append(f"imported JSON: error {err}")
    # An 8-bit RGB PPM of 45 x 37 pixels; segment feeds pixel / 255 (no preprocess metadata).
    h, w = 45, 37
    pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    image = os.path.join(work, "deeplab_image.ppm")
    with open(image, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h) + pixels.tobytes())
    out = os.path.join(work, "deeplab_segment")
    r = subprocess.run([fcnrt, "segment", path, image, "-o", out, "--probs", "--device", "cpu", "--quiet"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return failures + [f"fcnrt segment: {r.stderr.strip()}"]
    logits = sess.run(None, {"x": (pixels.astype(np.float32) / 255).transpose(2, 0, 1)[None]})[0][0].astype(np.float64)
    e = np.exp(logits - logits.max(axis=0))
    probs = e / e.sum(axis=0)
    err = max_error(np.load(os.path.join(out, "deeplab_image_probs.npy")), probs)
    print(f"fcnrt segment (45 x 37 image): score error {err}: {'ok' if err is not None and err <= 1e-5 else 'FAIL'}")
    if err is None or err > 1e-5:
        failures.append(f"fcnrt segment: score error {err}")
    return failures


def compare(fcnrt, work):
    try:
        global np, max_error, run_and_compare
        import numpy as np
        import onnxruntime as ort
        from fcnrt_vs_ort import max_error, run_and_compare
    except ImportError as e:
        print(f"skipped: {e}", file=sys.stderr)
        sys.exit(77)
    py, why = torch_python()
    if py is None:
        print(f"skipped: {why}", file=sys.stderr)
        sys.exit(77)
    os.makedirs(work, exist_ok=True)
    r = subprocess.run([py, os.path.abspath(__file__), "--export", work], capture_output=True, text=True)
    if r.returncode != 0:
        print("torch export failed:\n" + r.stderr[-4000:], file=sys.stderr)
        sys.exit(1)
    info = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"exported with torch {info['torch']}, torchvision {info['torchvision']}")
    only = set(os.environ.get("FCNRT_TORCH_CASES", "").split(",")) - {""}
    rng = np.random.default_rng(14)
    failures, cuda_note = [], None
    for name, path in info["models"].items():
        if only and name not in only:
            continue
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in sess.get_outputs()]
        runs = [(size, ["cpu", "cuda"] if name in CUDA_CASES else ["cpu"]) for size in SIZES.get(name, SIZES["default"])]
        runs += [(size, ["cuda"]) for size in CUDA_ONLY_SIZES.get(name, [])]
        for (n, h, w), devices in runs:
            tag = f"{name}_n{n}_{h}x{w}"
            x = rng.uniform(-1, 1, (n, 3, h, w)).astype(np.float32)
            xpath = os.path.join(work, tag + ".x.npy")
            np.save(xpath, x)
            want = sess.run(None, {"x": x})
            for device in devices:
                found, note = run_and_compare(fcnrt, path, xpath, names, want, device, work, tag)
                failures += found
                cuda_note = note or cuda_note
    if "deeplabv3_mobilenet" in info["models"] and (not only or "deeplabv3_mobilenet" in only):
        failures += imported_and_segmented(fcnrt, work, info["models"]["deeplabv3_mobilenet"], rng)
    if cuda_note:
        print(f"note: the CUDA runs were skipped: {cuda_note}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    print("all cases match onnxruntime")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--export":
        export(sys.argv[2])
    elif len(sys.argv) == 3:
        compare(sys.argv[1], sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
