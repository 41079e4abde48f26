#!/usr/bin/env python3
"""Per-node gap between `fcnrt bench --profile --json` and onnxruntime's profile
(bench/ort_profile_ops.py --json-out) of the same ONNX model.

    VENV/bin/python bench/node_gap.py MODEL.onnx FCNRT.json[,FCNRT2.json...] ORT.json[,...] [--top 15]

Several json files per engine: per node the least of their times (the least
disturbed run on a shared machine). onnxruntime names a fused node after the
last output it fuses (a conv's relu, a batch norm's ...) plus "_nchwc"; each is
mapped to the ONNX node that starts its chain (walking producers back through
Relu, BatchNormalization, Add, Clip to the first Conv/op), which is fcnrt's
node name for its fused conv.
"""
import argparse
import collections
import json

import onnx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("fcnrt")
    ap.add_argument("ort")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    g = onnx.load(args.model, load_external_data=False).graph
    producer = {o: n for n in g.node for o in n.output}
    fc = collections.defaultdict(lambda: float("inf"))
    fc_op = {}
    for path in args.fcnrt.split(","):
        for n in json.load(open(path))["nodes"]:
            fc[n["name"]] = min(fc[n["name"]], n["ms"])
            fc_op[n["name"]] = n["op"]
    ort = collections.defaultdict(lambda: float("inf"))
    for path in args.ort.split(","):
        d = json.load(open(path))
        for name, us in d["per_node_us"].items():
            t = name[: -len("_nchwc")] if name.endswith("_nchwc") else name
            node = producer.get(t)
            while node is not None and node.op_type in ("Relu", "BatchNormalization", "Add", "Clip", "Sum"):
                ins = [producer.get(i) for i in node.input if i in producer]
                conv = [p for p in ins if p is not None and p.op_type in ("Conv", "ConvTranspose")]
                nxt = conv[0] if conv else (ins[0] if ins else None)
                node = nxt
            key = node.name if node is not None else name
            ort[key] = min(ort[key], us / 1000.0) if key in ort else us / 1000.0
    rows = []
    for name in set(fc) | set(ort):
        a, b = fc.get(name), ort.get(name)
        rows.append((name, fc_op.get(name, "?"), a, b))
    tot_a = sum(r[2] for r in rows if r[2] is not None)
    tot_b = sum(r[3] for r in rows if r[3] is not None)
    print(f"total: fcnrt {tot_a:.1f} ms, onnxruntime {tot_b:.1f} ms ({len(fc)} / {len(ort)} nodes)")
    loss = [(r, (r[2] or 0) - (r[3] or 0)) for r in rows]
    loss.sort(key=lambda x: -x[1])
    print(f"{'node':60s} {'op':10s} {'fcnrt':>9s} {'ort':>9s} {'gap':>8s}")
    for r, d in loss[: args.top]:
        a = f"{r[2]:.2f}" if r[2] is not None else "-"
        b = f"{r[3]:.2f}" if r[3] is not None else "-"
        print(f"{r[0][-60:]:60s} {r[1]:10s} {a:>9s} {b:>9s} {d:8.2f}")
    print("... biggest wins:")
    for r, d in loss[-5:]:
        a = f"{r[2]:.2f}" if r[2] is not None else "-"
        b = f"{r[3]:.2f}" if r[3] is not None else "-"
        print(f"{r[0][-60:]:60s} {r[1]:10s} {a:>9s} {b:>9s} {d:8.2f}")


if __name__ == "__main__":
    main()
