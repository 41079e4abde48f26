#!/usr/bin/python3
"""Exports an fcnrt model to ONNX through bench/torch_graph.py's PyTorch module.

Run with a python that has torch (Debian's /usr/bin/python3, torch 1.13; any
torch 2.x works too):

    /usr/bin/python3 bench/export_onnx_peer.py MODEL.json -o MODEL.onnx --size HxW \\
        [--batch B] [--opset 17] [--dynamic]

torch.onnx.export traces the module on a zero input of the requested shape
(open dims filled by --size and --batch), with constant folding, input and
output names as in the graph. The ONNX graph is fixed at that shape unless
--dynamic is given, which marks the open H/W dims (and an open batch) as
dynamic axes; the trace stays correct at other sizes only where no node derives
its geometry from the input size in Python (the zoo nets: yes; the fallback
paths for asymmetric pooling pads: no), so fixed shapes are the default.

max_unpool is exported as a scatter into a zero plane (ScatterElements):
torch.onnx has no symbolic for max_unpool2d. Prints one JSON line: the path,
opset, shapes, ONNX file size and export seconds.
"""

import argparse
import json
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_graph import GraphError, concrete_shapes, load_graph_module, parse_size  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("torch.onnx.export"):])
    ap.add_argument("model")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--size", type=parse_size)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--dynamic", action="store_true")
    args = ap.parse_args()

    try:
        module, specs = load_graph_module(args.model, scatter_unpool=True)
        shapes = concrete_shapes(specs, args.size, args.batch)
    except GraphError as e:
        sys.exit(f"export_onnx_peer: {e}")
    xs = tuple(torch.zeros(s) for s in shapes.values())
    dynamic_axes = None
    if args.dynamic:
        dynamic_axes = {}
        for name, shape in specs:
            axes = {a: f"{name}_{'nchw'[a]}" for a in (0, 2, 3) if shape[a] is None}
            if axes:
                dynamic_axes[name] = axes
        for name in module.output_names:
            dynamic_axes[name] = {0: f"{name}_n", 2: f"{name}_h", 3: f"{name}_w"}
    start = time.perf_counter()
    tmp = args.output + ".partial"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python ints from shapes
        with torch.no_grad():
            torch.onnx.export(module, xs, tmp, input_names=list(shapes),
                              output_names=list(module.output_names),
                              opset_version=args.opset, do_constant_folding=True,
                              dynamic_axes=dynamic_axes)
    os.replace(tmp, args.output)
    print(json.dumps({"onnx": os.path.abspath(args.output), "model": os.path.abspath(args.model),
                      "opset": args.opset, "input_shapes": shapes, "dynamic": bool(args.dynamic),
                      "torch": torch.__version__, "bytes": os.path.getsize(args.output),
                      "export_s": round(time.perf_counter() - start, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
