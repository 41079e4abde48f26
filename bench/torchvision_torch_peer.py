#!/usr/bin/env python3
"""Times PyTorch (CPU, eager, torch.inference_mode) on the torchvision nets of
bench/torchvision_nets.py, the same seeded weights bench/export_torchvision_onnx.py
exports: the PyTorch column beside fcnrt and onnxruntime for those models.
Prints one JSON object per model: name, size, threads, torch version, the
median and every run's wall milliseconds.

usage: torchvision_torch_peer.py [--models NAME ...] [--size 520] [--threads 2]
                                 [--warmup 1] [--iterations 3] [--json-out FILE]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchvision_nets  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=torchvision_nets.NAMES,
                    choices=torchvision_nets.NAMES)
    ap.add_argument("--size", type=int, default=520)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for name in args.models:
        net = torchvision_nets.build(name)
        torch.manual_seed(0)
        x = torch.randn(1, 3, args.size, args.size)
        times = []
        with torch.inference_mode():
            for i in range(args.warmup + args.iterations):
                t0 = time.perf_counter()
                net(x)
                if i >= args.warmup:
                    times.append((time.perf_counter() - t0) * 1e3)
        r = {"model": name, "size": args.size, "threads": args.threads,
             "torch": torch.__version__, "median_ms": statistics.median(times), "runs_ms": times}
        print(json.dumps(r), flush=True)
        results.append(r)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
