#!/usr/bin/env python3
"""onnxruntime's per-node profile of one ONNX model on the CPU, summed per op
type and listed per node: the peer's side of a per-op comparison with
`fcnrt bench --profile`.

    VENV/bin/python bench/ort_profile_ops.py MODEL.onnx HxW [--threads 1] [--iterations 5]
        [--top 25] [--json-out FILE]

CPUExecutionProvider, ORT_ENABLE_ALL, --threads intra-op threads (inter-op 1),
one seeded standard-normal input [1, C, H, W] (C the model's, else 3); one warm-up run, then
--iterations profiled runs; per node the least of its kernel times (the
profile's "dur" of the *_kernel_time events, microseconds, wall time: on a
shared machine the least disturbed run). Nodes are named
after onnxruntime's (possibly fused) graph, so the op types are those it runs.
"""
import argparse
import collections
import json
import os
import tempfile

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("size")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--json-out")
    args = ap.parse_args()
    h, w = (int(v) for v in args.size.split("x"))
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    sess = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    channels = sess.get_inputs()[0].shape[1]
    channels = channels if isinstance(channels, int) else 3  # the model's own, else RGB
    x = np.random.default_rng(0).standard_normal((1, channels, h, w)).astype(np.float32)
    sess.run(None, {name: x})
    for _ in range(args.iterations):
        sess.run(None, {name: x})
    path = sess.end_profiling()
    with open(path) as f:
        events = json.load(f)
    per_node = collections.defaultdict(list)
    op_of = {}
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        node = e["name"][: -len("_kernel_time")]
        per_node[node].append(e["dur"])
        op_of[node] = e.get("args", {}).get("op_name", "?")
    # The first run per node is the warm-up.
    med = {n: min(d[1:] if len(d) > 1 else d) for n, d in per_node.items()}
    per_op = collections.Counter()
    count = collections.Counter()
    for n, t in med.items():
        per_op[op_of[n]] += t
        count[op_of[n]] += 1
    total = sum(med.values())
    print(f"total kernel time {total / 1000:.2f} ms ({len(med)} nodes, {args.threads} thread(s))")
    for op, t in per_op.most_common():
        print(f"  {op:28s} {t / 1000:9.2f} ms {100 * t / total:5.1f}%  x{count[op]}")
    print("top nodes:")
    for n, t in sorted(med.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {t / 1000:8.2f} ms  {op_of[n]:20s} {n}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"per_node_us": med, "op_of": op_of}, f, indent=1)


if __name__ == "__main__":
    main()
