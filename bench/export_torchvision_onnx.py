#!/usr/bin/env python3
"""Exports torchvision's DeepLabV3-MobileNetV3-Large and FCN-ResNet50 (random
weights: weights=None, weights_backbone=None, so nothing is downloaded; eval
mode) to ONNX at a fixed input size, for the CPU comparison in
bench/results/ (fcnrt vs onnxruntime). Output: the 'out' head only (no aux).

usage: export_torchvision_onnx.py OUT_DIR [--size 520] [--opset 17]
"""
import argparse
import os

import torch
import torchvision


class OutOnly(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)["out"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--size", type=int, default=520)
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(0)
    seg = torchvision.models.segmentation
    nets = {
        "deeplabv3_mobilenet_v3_large": lambda: seg.deeplabv3_mobilenet_v3_large(
            weights=None, weights_backbone=None, aux_loss=False),
        "fcn_resnet50": lambda: seg.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False),
    }
    for name, make in nets.items():
        net = OutOnly(make()).eval()
        x = torch.randn(1, 3, args.size, args.size)
        path = os.path.join(args.out_dir, f"{name}_{args.size}.onnx")
        with torch.inference_mode():
            torch.onnx.export(net, x, path, opset_version=args.opset, input_names=["image"],
                              output_names=["scores"], do_constant_folding=True)
        print(path)


if __name__ == "__main__":
    main()
