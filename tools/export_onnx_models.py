#!/usr/bin/env python3
"""Exports real segmentation nets to ONNX for fcnrt's importer tests.

Two steps, because PyTorch and onnxruntime live in different Pythons here:

  /usr/bin/python3 tools/export_onnx_models.py export OUT_DIR
      (Debian's python3-torch + python3-torchvision) writes OUT_DIR/<name>.onnx and
      OUT_DIR/<name>.input.npy for torchvision's fcn_resnet50, deeplabv3_resnet50 and
      lraspp_mobilenet_v3_large (random weights: weights=None, weights_backbone=None,
      aux_loss off) and a small U-Net, all at one static input size;

  build/python-venv/bin/python tools/export_onnx_models.py reference OUT_DIR
      (a Python with onnxruntime, e.g. the virtual environment the ONNX tests make in
      the build folder, after `build/python-venv/bin/python -m pip install onnxruntime`)
      writes OUT_DIR/<name>.ort.npy, onnxruntime's output for the saved input.

tests/test_onnx_models.cpp then runs each model with fcnrt and compares. Nothing here
goes into git: OUT_DIR is a build folder.
"""
import os
import sys

import numpy as np

SIZE = (1, 3, 160, 224)  # one static size; not square, so H and W mix-ups show
MODELS = ["fcn_resnet50", "deeplabv3_resnet50", "lraspp_mobilenet_v3_large", "unet_small"]


def build_models():
    import torch
    import torch.nn as nn
    import torchvision.models.segmentation as seg

    class OutOnly(nn.Module):
        """torchvision's segmentation nets return a dict; ONNX wants a tensor."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x)["out"]

    def block(cin, cout):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1, inplace=True))

    class UNetSmall(nn.Module):
        """Two levels down, two up: max-pool, transposed conv, nearest upsample, skip concat."""

        def __init__(self, classes=5):
            super().__init__()
            self.d1, self.d2, self.mid = block(3, 8), block(8, 16), block(16, 32)
            self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
            self.u2 = block(32, 16)
            self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
            self.u1 = block(16 + 8, 8)
            self.head = nn.Conv2d(8, classes, 1)

        def forward(self, x):
            a = self.d1(x)
            b = self.d2(nn.functional.max_pool2d(a, 2))
            m = self.mid(nn.functional.max_pool2d(b, 2))
            b2 = self.u2(torch.cat([self.up2(m), b], 1))
            a2 = self.u1(torch.cat([self.up1(b2), a], 1))
            return torch.softmax(self.head(a2), 1)

    torch.manual_seed(0)
    nets = {
        "fcn_resnet50": OutOnly(seg.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False)),
        "deeplabv3_resnet50": OutOnly(
            seg.deeplabv3_resnet50(weights=None, weights_backbone=None, aux_loss=False)),
        "lraspp_mobilenet_v3_large": OutOnly(
            seg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)),
        "unet_small": UNetSmall(),
    }
    # Random init leaves BatchNorm at mean 0 / var 1; give it real statistics so
    # folding and eval-mode numerics are exercised.
    for net in nets.values():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
        net.eval()
    return nets


def export(out_dir):
    import torch
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SIZE).astype(np.float32)
    for name, net in build_models().items():
        path = os.path.join(out_dir, name + ".onnx")
        with torch.no_grad():
            torch.onnx.export(net, torch.from_numpy(x), path, input_names=["image"],
                              output_names=["scores"], opset_version=14, do_constant_folding=True)
        np.save(os.path.join(out_dir, name + ".input.npy"), x)
        print("exported", path)


def reference(out_dir):
    import onnxruntime as ort
    for name in MODELS:
        path = os.path.join(out_dir, name + ".onnx")
        if not os.path.exists(path):
            print("missing", path)
            continue
        x = np.load(os.path.join(out_dir, name + ".input.npy"))
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        (y,) = sess.run(None, {"image": x})
        np.save(os.path.join(out_dir, name + ".ort.npy"), y.astype(np.float32))
        print("reference", name, y.shape)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "reference"):
        sys.exit(__doc__)
    {"export": export, "reference": reference}[sys.argv[1]](sys.argv[2])
