#!/usr/bin/env python3
"""Times an ONNX model with onnxruntime's CPU provider, prints one JSON object.

Run with a python that has onnxruntime and numpy (here the pyenv `python3`):

    python3 bench/ort_peer.py MODEL.onnx --threads 2 [--warmup 1] [--iterations 5] \\
        [--size HxW] [--batch B] [--input NAME=FILE.npy ...] [--save-output DIR] [--json-out FILE]
        [--profile [--profile-iterations N]]

Session: CPUExecutionProvider, intra_op_num_threads = --threads, inter_op 1,
ORT_SEQUENTIAL, ORT_ENABLE_ALL graph optimisations. Inputs come from --input
files, or are seeded standard-normal float32 at the model's input shapes (open
dims from --size and --batch). compute_ms: perf_counter around session.run()
(on the CPU this is the whole inference: no transfers), --warmup untimed runs
first; min, median, mean, p90, p95, p99, max. --save-output DIR writes the
outputs of the last timed run to DIR/NAME.npy (int64 outputs as int32).
--profile then runs a second session with onnxruntime's profiler on, N more
runs, and adds "nodes" (per ONNX node: op type, median ms over the runs; the
fused nodes ORT makes, e.g. Conv+Relu as FusedConv, appear as such) and
"ops" (per op type, ms per run).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort


def stats(values):
    v = np.sort(np.asarray(values, dtype=np.float64))
    pct = lambda q: float(np.percentile(v, q))  # noqa: E731
    return {"min": float(v[0]), "median": float(np.median(v)), "mean": float(v.mean()),
            "p90": pct(90), "p95": pct(95), "p99": pct(99), "max": float(v[-1]), "n": int(v.size)}


def profile(args, so, feeds):
    """Per-node kernel times from onnxruntime's own profiler (a second session)."""
    import tempfile
    so.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        so.profile_file_prefix = os.path.join(tmp, "ort_profile")
        session = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
        runs = max(1, args.profile_iterations)
        for _ in range(runs):
            session.run(None, feeds)
        path = session.end_profiling()
        with open(path) as f:
            events = json.load(f)
    per_node = {}
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        name = e["name"][:-len("_kernel_time")]
        op = e.get("args", {}).get("op_name", "?")
        per_node.setdefault((name, op), []).append(e["dur"] / 1e3)
    nodes = []
    ops = {}
    for (name, op), ms in per_node.items():
        # one event per run (more if a node ran several times a run: sum them per run)
        per_run = float(np.sum(ms) / runs)
        nodes.append({"name": name, "op": op, "ms": float(np.median(ms)) if len(ms) == runs
                      else per_run})
        ops[op] = ops.get(op, 0.0) + per_run
    nodes.sort(key=lambda n: -n["ms"])
    return {"profile_iterations": runs, "nodes": nodes,
            "ops": dict(sorted(ops.items(), key=lambda kv: -kv[1]))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("Session:"):])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--size", help="HxW for dynamic spatial dims")
    ap.add_argument("--batch", type=int, default=1, help="for a dynamic batch dim")
    ap.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-output", metavar="DIR")
    ap.add_argument("--json-out", metavar="FILE")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--profile-iterations", type=int, default=2)
    args = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    session = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0

    given = {}
    for item in args.input:
        name, path = item.split("=", 1) if "=" in item else (None, item)
        given[name] = np.load(path)
    rng = np.random.default_rng(args.seed)
    size = [int(v) for v in args.size.lower().split("x")] if args.size else None
    feeds = {}
    for inp in session.get_inputs():
        if inp.name in given or (None in given and len(session.get_inputs()) == 1):
            feeds[inp.name] = np.ascontiguousarray(given.get(inp.name, given.get(None)), np.float32)
            continue
        shape = list(inp.shape)
        for a, d in enumerate(shape):
            if not isinstance(d, int):
                if a == 0:
                    shape[a] = args.batch
                elif size is None:
                    sys.exit(f"ort_peer: input {inp.name} has dynamic dim {a}: give --size")
                else:
                    shape[a] = size[a - 2]
        feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)

    for _ in range(args.warmup):
        session.run(None, feeds)
    times = []
    for _ in range(args.iterations):
        t0 = time.perf_counter()
        outs = session.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    if args.save_output:
        if not times:
            outs = session.run(None, feeds)
        os.makedirs(args.save_output, exist_ok=True)
        for meta, o in zip(session.get_outputs(), outs):
            o = o.astype(np.int32) if np.issubdtype(o.dtype, np.integer) else o.astype(np.float32)
            np.save(os.path.join(args.save_output, f"{meta.name}.npy"), o)
    report = {
        "ort_peer": 1, "model": os.path.abspath(args.model), "onnxruntime": ort.__version__,
        "provider": "CPUExecutionProvider", "threads": args.threads, "inter_op_threads": 1,
        "execution_mode": "sequential", "graph_optimization": "ORT_ENABLE_ALL",
        "input_shapes": {k: list(v.shape) for k, v in feeds.items()},
        "warmup": args.warmup, "iterations": args.iterations, "session_load_s": round(load_s, 3),
        "compute_ms": stats(times) if times else None,
    }
    if args.profile:
        report.update(profile(args, so, feeds))
    text = json.dumps(report)
    if args.json_out:
        with open(args.json_out, "w") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
