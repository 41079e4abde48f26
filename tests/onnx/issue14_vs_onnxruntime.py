#!/usr/bin/env python3
"""Issue 14's ONNX patterns through `fcnrt run` against onnxruntime.

Builds, with the onnx package, small graphs in the form current PyTorch exports
write them (PRelu per channel and scalar, Elu, GELU as erf arithmetic and as the
opset-20 Gelu op in both forms and the tanh form's arithmetic, an attention gate Mul of [N,1,H,W] by [N,C,H,W],
DepthToSpace DCR/CRD, PixelUnshuffle as Reshape/Transpose/Reshape, and the pads
subgraph of an asymmetric ReflectionPad2d / ReplicationPad2d / ZeroPad2d), at
batch 1 and 4 and two sizes, runs each with onnxruntime and with `fcnrt run` on
the CPU and CUDA devices (CUDA: a GPU or the emulation build; skipped with a note
when fcnrt has no CUDA backend) and requires max|fcnrt - ort| <= 1e-5 * range(ort).

Usage: issue14_vs_onnxruntime.py FCNRT_BINARY WORK_DIR
Exits 77 (ctest's skip) when onnx, onnxruntime or numpy is missing.
"""
import os
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from fcnrt_vs_ort import run_and_compare
except ImportError as e:  # the packages are optional: skip, saying why
    print(f"skipped: {e}", file=sys.stderr)
    sys.exit(77)

INT_MAX = 9223372036854775807


def const(name, value, dtype=np.float32):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value, dtype=dtype), name))


def model(nodes, x_shape, outputs, inits=(), opset=17):
    graph = helper.make_graph(
        nodes, "issue14",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    return m


def prelu_elu(n, c, h, w, rng):
    slope = numpy_helper.from_array(rng.uniform(-1, 1, (c, 1, 1)).astype(np.float32), "slope")
    scalar = numpy_helper.from_array(np.array([0.25], np.float32), "scalar")
    nodes = [helper.make_node("PRelu", ["x", "slope"], ["a"]),
             helper.make_node("Elu", ["a"], ["b"], alpha=0.7),
             helper.make_node("PRelu", ["b", "scalar"], ["y"])]
    return model(nodes, (n, c, h, w), ["y"], [slope, scalar])


def gelu_erf(n, c, h, w, rng):
    # torch.onnx (TorchScript, opset < 20): x * 0.5 * (1 + erf(x / sqrt 2)) as written
    nodes = [helper.make_node("Identity", ["x"], ["v"]),  # a run-time tensor other than the input
             const("s2", 1.4142135381698608), helper.make_node("Div", ["v", "s2"], ["d"]),
             helper.make_node("Erf", ["d"], ["e"]), const("one", 1.0),
             helper.make_node("Add", ["e", "one"], ["p"]), helper.make_node("Mul", ["v", "p"], ["q"]),
             const("half", 0.5), helper.make_node("Mul", ["q", "half"], ["y"])]
    return model(nodes, (n, c, h, w), ["y"])


def gelu_tanh(n, c, h, w, rng):
    # torch.onnx (TorchScript, opset < 20), GELU approximate="tanh"
    nodes = [const("kappa", 0.044715), const("beta", 0.7978845608028654), const("one", 1.0),
             const("half", 0.5), helper.make_node("Mul", ["x", "x"], ["sq"]),
             helper.make_node("Mul", ["x", "sq"], ["cube"]), helper.make_node("Mul", ["kappa", "cube"], ["kc"]),
             helper.make_node("Add", ["x", "kc"], ["s"]), helper.make_node("Mul", ["beta", "s"], ["inner"]),
             helper.make_node("Tanh", ["inner"], ["t"]), helper.make_node("Add", ["one", "t"], ["p"]),
             helper.make_node("Mul", ["x", "p"], ["q"]), helper.make_node("Mul", ["half", "q"], ["y"])]
    return model(nodes, (n, c, h, w), ["y"])


def gelu20(n, c, h, w, rng):
    nodes = [helper.make_node("Gelu", ["x"], ["y"]),
             helper.make_node("Gelu", ["x"], ["z"], approximate="tanh")]
    return model(nodes, (n, c, h, w), ["y", "z"], opset=20)


def attention(n, c, h, w, rng):
    wg = numpy_helper.from_array(rng.uniform(-1, 1, (1, c, 1, 1)).astype(np.float32), "wg")
    bias = numpy_helper.from_array(rng.uniform(-1, 1, (c, 1, 1)).astype(np.float32), "bias")
    nodes = [helper.make_node("Conv", ["x", "wg"], ["g0"]), helper.make_node("Sigmoid", ["g0"], ["g"]),
             helper.make_node("Mul", ["g", "x"], ["gated"]),  # [N,1,H,W] * [N,C,H,W]
             helper.make_node("Add", ["gated", "bias"], ["y"])]
    return model(nodes, (n, c, h, w), ["y"], [wg, bias])


def pixel(n, c, h, w, rng):
    # PixelShuffle (DepthToSpace CRD), DepthToSpace DCR, and PixelUnshuffle as torch
    # exports it: Reshape [N, C, H/2, 2, W/2, 2], Transpose, Reshape [N, 4C, H/2, W/2].
    nodes = [helper.make_node("DepthToSpace", ["x"], ["crd"], blocksize=2, mode="CRD"),
             helper.make_node("DepthToSpace", ["x"], ["dcr"], blocksize=2, mode="DCR"),
             const("s6", [n, c // 4, h, 2, w, 2], np.int64),
             helper.make_node("Reshape", ["crd", "s6"], ["v6"]),
             helper.make_node("Transpose", ["v6"], ["t6"], perm=[0, 1, 3, 5, 2, 4]),
             const("s4", [n, c, h, w], np.int64), helper.make_node("Reshape", ["t6", "s4"], ["back"])]
    return model(nodes, (n, c, h, w), ["crd", "dcr", "back"])


def torch_pads(prefix, pads):
    """The subgraph torch.onnx writes for F.pad's list (left, right, top, bottom)."""
    p = lambda s: prefix + s
    return [const(p("pad"), pads, np.int64), helper.make_node("Shape", [p("pad")], [p("len1")]),
            const(p("zero"), 0, np.int64), helper.make_node("Gather", [p("len1"), p("zero")], [p("len")]),
            const(p("eight"), 8, np.int64), helper.make_node("Sub", [p("eight"), p("len")], [p("ext")]),
            const(p("ax0"), [0], np.int64), helper.make_node("Unsqueeze", [p("ext"), p("ax0")], [p("ext1")]),
            helper.make_node("ConstantOfShape", [p("ext1")], [p("zeros")],
                             value=numpy_helper.from_array(np.array([0], np.int64))),
            helper.make_node("Concat", [p("pad"), p("zeros")], [p("all")], axis=0),
            const(p("pairs"), [-1, 2], np.int64), helper.make_node("Reshape", [p("all"), p("pairs")], [p("pr")]),
            const(p("st"), [-1], np.int64), const(p("en"), [-INT_MAX], np.int64), const(p("sp"), [-1], np.int64),
            helper.make_node("Slice", [p("pr"), p("st"), p("en"), p("ax0"), p("sp")], [p("rev")]),
            helper.make_node("Transpose", [p("rev")], [p("tr")], perm=[1, 0]),
            const(p("flat"), [-1], np.int64), helper.make_node("Reshape", [p("tr"), p("flat")], [p("onnx")]),
            helper.make_node("Cast", [p("onnx")], [p("pads")], to=TensorProto.INT64)]


def pads(n, c, h, w, rng):
    nodes = (torch_pads("r_", [1, 2, 0, 3]) + torch_pads("e_", [3, 0, 2, 1]) + torch_pads("z_", [0, 1, 2, 0]) +
             [helper.make_node("Pad", ["x", "r_pads"], ["reflect"], mode="reflect"),
              helper.make_node("Pad", ["x", "e_pads"], ["edge"], mode="edge"),
              helper.make_node("Pad", ["x", "z_pads"], ["zero"], mode="constant")])
    return model(nodes, (n, c, h, w), ["reflect", "edge", "zero"])


CASES = {"prelu_elu": (prelu_elu, 5), "gelu_erf": (gelu_erf, 3), "gelu_tanh": (gelu_tanh, 3), "gelu20": (gelu20, 3),
         "attention": (attention, 6), "pixel": (pixel, 8), "pads": (pads, 3)}
SIZES = [(1, 8, 12), (4, 6, 10)]  # batch, H, W: two sizes, batch 1 and 4


def main():
    fcnrt, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(14)
    failures, cuda_note = [], None
    for name, (build, channels) in CASES.items():
        for n, h, w in SIZES:
            m = build(n, channels, h, w, rng)
            tag = f"{name}_n{n}_{h}x{w}"
            path = os.path.join(work, tag + ".onnx")
            onnx.save(m, path)
            x = rng.uniform(-3, 3, (n, channels, h, w)).astype(np.float32)
            np.save(os.path.join(work, tag + ".x.npy"), x)
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            names = [o.name for o in sess.get_outputs()]
            want = sess.run(None, {"x": x})
            for device in ["cpu", "cuda"]:
                found, note = run_and_compare(fcnrt, path, os.path.join(work, tag + ".x.npy"), names, want,
                                              device, work, tag)
                failures += found
                cuda_note = note or cuda_note
    if cuda_note:
        print("note: CUDA device not checked:", cuda_note)
    if failures:
        print("\n".join(["FAILED:"] + failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
