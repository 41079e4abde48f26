#!/usr/bin/env python3
"""Writes models/zoo/NAME.arch.json from a zoo made by tools/make_zoo.py.

An architecture file is the model's graph document plus the shape of every weight
(from the safetensors header), without the weights: a few kilobytes instead of up to
538 MB. `fcnrt zoo` turns it back into a model with seeded random weights, so the zoo
needs neither PyTorch nor a download. Standard library only.

    /usr/bin/python3 tools/make_zoo.py /tmp/zoo
    python3 tools/zoo_architectures.py /tmp/zoo models/zoo
"""
import json
import os
import struct
import sys

NAMES = ["unet", "fcn8s", "tiramisu", "dilation", "segnet", "cellpatch"]


def weight_shapes(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    shapes = {}
    for name, info in sorted(header.items()):
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}, expected F32")
        shapes[name] = info["shape"]
    return shapes


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dest = sys.argv[1:]
    for name in NAMES:
        with open(os.path.join(src, name + ".json"), encoding="utf-8") as f:
            graph = json.load(f)
        graph.pop("weights", None)  # fcnrt zoo names the weights file it writes
        doc = {"format": "fcnrt-zoo-architecture", "version": 1, "graph": graph,
               "weight_shapes": weight_shapes(os.path.join(src, name + ".safetensors"))}
        out = os.path.join(dest, name + ".arch.json")
        with open(out, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=None, separators=(",", ":"), sort_keys=False)
            f.write("\n")
        print(f"{out}: {len(graph['nodes'])} nodes, {len(doc['weight_shapes'])} weights, "
              f"{os.path.getsize(out):,d} bytes")


if __name__ == "__main__":
    main()
