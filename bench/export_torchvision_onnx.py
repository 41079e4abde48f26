#!/usr/bin/env python3
"""Exports torchvision's DeepLabV3-MobileNetV3-Large and FCN-ResNet50
(bench/torchvision_nets.py: random seeded weights, eval mode, the 'out' head)
to ONNX at a fixed input size, for the CPU comparison in bench/results/
(fcnrt vs onnxruntime; bench/torchvision_torch_peer.py times PyTorch itself).

usage: export_torchvision_onnx.py OUT_DIR [--size 520] [--opset 17]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchvision_nets  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--size", type=int, default=520)
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for name in torchvision_nets.NAMES:
        net = torchvision_nets.build(name)
        torch.manual_seed(0)
        x = torch.randn(1, 3, args.size, args.size)
        path = os.path.join(args.out_dir, f"{name}_{args.size}.onnx")
        with torch.inference_mode():
            torch.onnx.export(net, x, path, opset_version=args.opset, input_names=["image"],
                              output_names=["scores"], do_constant_folding=True)
        print(path)


if __name__ == "__main__":
    main()
