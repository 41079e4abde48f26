#!/usr/bin/python3
"""Writes a small U-Net for benchmarking: the fcnrt model and the same net as ONNX.

Run with Debian's PyTorch (python3-torch, python3-numpy), not a pyenv python:

    /usr/bin/python3 bench/make_small_unet.py [OUT_DIR] [--size HxW]

OUT_DIR (default /tmp/fcnrt-bench) receives:

    small_unet.json, small_unet.safetensors   the fcnrt model (batch_norm nodes kept
                                              separate so the loader folds them)
    small_unet.onnx                           torch.onnx.export, opset 13, input
                                              "image" [1, 3, H, W] with dynamic H, W
    input.npy, output_torch.npy               one seeded input at --size (default
                                              256x256) and PyTorch's float32 output

The net: 3 -> 32 -> 64 -> 128 channels, two padded 3x3 conv + BN + ReLU per
level, 2x2 max_pool down, 2x2 stride-2 conv_transpose up, skip concats
[skip, up], a 1x1 head to 3 classes (logits, no softmax). Weights and BN
statistics are seeded; nothing generated here belongs in the repository.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from make_golden import write_safetensors  # noqa: E402  (the one safetensors writer of the scripts)

SEED = 20261121
CLASSES = 3


class ConvBnRelu(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=False))


class SmallUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Sequential(ConvBnRelu(3, 32), ConvBnRelu(32, 32))
        self.enc2 = nn.Sequential(ConvBnRelu(32, 64), ConvBnRelu(64, 64))
        self.bottom = nn.Sequential(ConvBnRelu(64, 128), ConvBnRelu(128, 128))
        self.up2 = nn.ConvTranspose2d(128, 64, 2, stride=2)
        self.dec2 = nn.Sequential(ConvBnRelu(128, 64), ConvBnRelu(64, 64))
        self.up1 = nn.ConvTranspose2d(64, 32, 2, stride=2)
        self.dec1 = nn.Sequential(ConvBnRelu(64, 32), ConvBnRelu(32, 32))
        self.head = nn.Conv2d(32, CLASSES, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.dec2(torch.cat([e2, self.up2(b)], dim=1))
        d1 = self.dec1(torch.cat([e1, self.up1(d2)], dim=1))
        return self.head(d1)


def randomise_batch_norms(net, gen):
    """Eval-mode BN with non-trivial statistics, so folding them matters."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(1.0 + 0.2 * torch.randn(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))


# ---- fcnrt graph -----------------------------------------------------------


class GraphWriter:
    def __init__(self):
        self.nodes = []
        self.weights = {}

    def weight(self, name, tensor):
        self.weights[name] = tensor.detach().cpu().numpy().astype(np.float32)
        return name

    def node(self, op, name, inputs, **attrs):
        node = {"op": op, "name": name, "inputs": list(inputs), "outputs": [name]}
        node.update(attrs)
        self.nodes.append(node)
        return name

    def conv(self, name, x, m):
        pad = m.padding[0]
        attrs = {"weight": self.weight(name + ".weight", m.weight)}
        if pad:
            attrs["pads"] = [pad, pad, pad, pad]
        if m.bias is not None:
            attrs["bias"] = self.weight(name + ".bias", m.bias)
        return self.node("conv", name, [x], **attrs)

    def conv_transpose(self, name, x, m):
        return self.node("conv_transpose", name, [x], stride=list(m.stride),
                         weight=self.weight(name + ".weight", m.weight),
                         bias=self.weight(name + ".bias", m.bias))

    def batch_norm(self, name, x, m):
        return self.node("batch_norm", name, [x], epsilon=m.eps,
                         scale=self.weight(name + ".scale", m.weight),
                         bias=self.weight(name + ".bias", m.bias),
                         mean=self.weight(name + ".mean", m.running_mean),
                         var=self.weight(name + ".var", m.running_var))

    def conv_bn_relu(self, name, x, block):
        conv, bn, _ = block
        y = self.conv(name + ".conv", x, conv)
        y = self.batch_norm(name + ".bn", y, bn)
        return self.node("relu", name + ".relu", [y])

    def stage(self, name, x, seq):
        for i, block in enumerate(seq):
            x = self.conv_bn_relu(f"{name}.{i}", x, block)
        return x


def fcnrt_graph(net):
    g = GraphWriter()
    e1 = g.stage("enc1", "image", net.enc1)
    p1 = g.node("max_pool", "pool1", [e1], kernel=[2, 2])
    e2 = g.stage("enc2", p1, net.enc2)
    p2 = g.node("max_pool", "pool2", [e2], kernel=[2, 2])
    b = g.stage("bottom", p2, net.bottom)
    u2 = g.conv_transpose("up2", b, net.up2)
    c2 = g.node("concat", "cat2", [e2, u2], axis=1)
    d2 = g.stage("dec2", c2, net.dec2)
    u1 = g.conv_transpose("up1", d2, net.up1)
    c1 = g.node("concat", "cat1", [e1, u1], axis=1)
    d1 = g.stage("dec1", c1, net.dec1)
    g.conv("head", d1, net.head)
    doc = {
        "format": "fcnrt-graph",
        "version": 1,
        "name": "small_unet",
        "weights": "small_unet.safetensors",
        "inputs": [{"name": "image", "shape": [1, 3, None, None]}],
        "outputs": ["head"],
        "nodes": g.nodes,
        "metadata": {"source": "bench/make_small_unet.py", "seed": SEED},
    }
    return doc, g.weights


def parse_size(text):
    h, _, w = text.lower().partition("x")
    return int(h), int(w)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", nargs="?", default="/tmp/fcnrt-bench")
    ap.add_argument("--size", default="256x256", help="HxW of the check input (default 256x256)")
    args = ap.parse_args()
    h, w = parse_size(args.size)
    os.makedirs(args.out_dir, exist_ok=True)

    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    net = SmallUNet()
    randomise_batch_norms(net, gen)
    net.eval()

    doc, weights = fcnrt_graph(net)
    with open(os.path.join(args.out_dir, "small_unet.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    write_safetensors(os.path.join(args.out_dir, "small_unet.safetensors"), weights)

    x = torch.randn(1, 3, h, w, generator=gen)
    with torch.no_grad():
        y = net(x)
    np.save(os.path.join(args.out_dir, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(args.out_dir, "output_torch.npy"), y.numpy().astype(np.float32))

    torch.onnx.export(net, x, os.path.join(args.out_dir, "small_unet.onnx"),
                      opset_version=13, input_names=["image"], output_names=["scores"],
                      dynamic_axes={"image": {2: "height", 3: "width"},
                                    "scores": {2: "height", 3: "width"}},
                      do_constant_folding=True)
    print(f"wrote {args.out_dir}: small_unet.json/.safetensors ({len(doc['nodes'])} nodes, "
          f"{sum(a.size for a in weights.values())} weights), small_unet.onnx, "
          f"input.npy {list(x.shape)}, output_torch.npy {list(y.shape)}")


if __name__ == "__main__":
    main()
