#!/usr/bin/env python3
"""One conv shape on onnxruntime's CPU provider, timed as bench_conv_cpu_time
times fcnrt's: a one-node ONNX model (Conv with bias, no activation), the
process CPU time per run (all threads' user + system time) and the wall time,
median of REPS runs after one untimed warm-up.

    python bench/conv_vs_ort.py C K HW KERNEL DILATION REPS [PAD [STRIDE]] [--threads N]

x (1, C, HW, HW), weight (K, C, KERNEL, KERNEL), the same arguments as
bench_conv_cpu_time. Session: intra_op_num_threads = --threads (default 1),
inter_op 1, ORT_SEQUENTIAL, all graph optimisations. Prints one line:
  ort: median cpu S s, wall S s, G GFLOP per cpu-second (threads N)
"""

import argparse
import statistics
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def conv_model(c, k, hw, ks, dil, pad, stride):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((k, c, ks, ks)) * 0.01).astype(np.float32)
    b = np.full((k,), 0.1, np.float32)
    oh = (hw + 2 * pad - dil * (ks - 1) - 1) // stride + 1
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[ks, ks],
                            dilations=[dil, dil], pads=[pad] * 4, strides=[stride, stride])
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, hw, hw])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, k, oh, oh])],
        [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.tobytes(), raw=True),
         helper.make_tensor("b", TensorProto.FLOAT, b.shape, b.tobytes(), raw=True)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString(), oh


def main():
    ap = argparse.ArgumentParser()
    for name in ("c", "k", "hw", "kernel", "dilation", "reps"):
        ap.add_argument(name, type=int)
    ap.add_argument("pad", type=int, nargs="?", default=0)
    ap.add_argument("stride", type=int, nargs="?", default=1)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    model, oh = conv_model(a.c, a.k, a.hw, a.kernel, a.dilation, a.pad, a.stride)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if a.threads == 1:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    x = (np.arange(a.c * a.hw * a.hw) % 17 * 0.01).astype(np.float32).reshape(1, a.c, a.hw, a.hw)
    feeds = {"x": x}
    s.run(None, feeds)
    cpu, wall = [], []
    for _ in range(a.reps):
        c0, w0 = time.process_time(), time.perf_counter()
        s.run(None, feeds)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    flop = 2.0 * a.k * a.c * a.kernel * a.kernel * oh * oh
    mc = statistics.median(cpu)
    print(f"ort: median cpu {mc:.4f} s, wall {statistics.median(wall):.4f} s, "
          f"{flop / mc * 1e-9:.1f} GFLOP per cpu-second (threads {a.threads})")


if __name__ == "__main__":
    main()
