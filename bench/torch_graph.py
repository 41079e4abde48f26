#!/usr/bin/env python3
"""An fcnrt graph (JSON + safetensors) as a PyTorch nn.Module: the peer's model.

    from torch_graph import load_graph_module
    module, inputs = load_graph_module("unet.json")   # inputs: [(name, [n, c, h, w] or None)]
    outputs = module(x)                                # a tuple, in the graph's output order

The module is what a PyTorch user would write for the same net: one small
nn.Module per node, holding its weights as buffers (so `.to(device)`,
`.to(memory_format=torch.channels_last)`, `.double()` and torch.onnx.export work),
running the idiomatic functional op: F.conv2d, F.conv_transpose2d,
F.max_pool2d(return_indices=...), F.max_unpool2d, F.avg_pool2d, F.batch_norm,
F.interpolate, torch.cat, F.softmax, torch.argmax, F.pad, slicing for crop,
F.linear. Semantics follow ../shared/spec/model-format.md and the float64
reference interpreter in tests/make_golden.py (run_node). Where PyTorch's op
cannot take the attributes directly (asymmetric pads, dilated avg_pool, a
max_pool padded wider than half its kernel) the node pads explicitly first, as
a PyTorch user would. batch_norm is not folded and activations are separate
ops: that is what the idiomatic module runs (fcnrt folds and fuses at load).
Tensors are freed after their last use, as an eager PyTorch forward does.

Integer outputs (argmax, max_pool indices) are int64 inside the module (what
PyTorch's ops return and what F.max_unpool2d takes) and int32 as graph
outputs, as the spec says.

Runs on torch 1.13 (Debian's /usr/bin/python3) and torch 2.x. Needs numpy;
safetensors files are parsed by hand (no safetensors package needed).

Check mode (validates the translation):

    /usr/bin/python3 bench/torch_graph.py --check [--golden tests/golden] \\
        [--fcnrt build/fcnrt --model M.json --size HxW ...]

runs every case of tests/golden/MANIFEST.json in float32 (max-norm relative
error <= the case's tolerance, 1e-4; integer outputs exactly), and with
--fcnrt each --model on a seeded random input against `fcnrt run --device cpu`
(module in float64).
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class GraphError(Exception):
    """A graph this translation does not support or cannot read; names the node."""


# --------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------

_ST_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8"),
              "I32": np.dtype("<i4"), "I64": np.dtype("<i8")}


def read_safetensors(path):
    """name -> float32 (or integer) numpy array; F16/BF16 are widened to float32."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise GraphError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise GraphError(f"{path}: header length {n} exceeds the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = raw[base + begin:base + end]
        dtype = info["dtype"]
        if dtype == "BF16":
            bits = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif dtype in _ST_DTYPES:
            arr = np.frombuffer(buf, dtype=_ST_DTYPES[dtype])
        else:
            raise GraphError(f"{path}: tensor {name}: dtype {dtype} not supported")
        if arr.dtype == np.float16 or arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        shape = info["shape"]
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise GraphError(f"{path}: tensor {name}: {arr.size} elements for shape {shape}")
        out[name] = arr.reshape(shape).copy()
    return out


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

ACTIVATIONS = ("none", "relu", "leaky_relu", "sigmoid", "tanh")

# Attributes each op accepts besides op, name, inputs, outputs: an unknown one is
# refused (a misspelt "strides" must not be silently ignored), as the engine does.
ATTRIBUTES = {
    "conv": {"stride", "pads", "dilation", "groups", "activation", "activation_alpha",
             "weight", "bias"},
    "conv_transpose": {"stride", "pads", "output_padding", "dilation", "groups", "activation",
                       "activation_alpha", "weight", "bias"},
    "max_pool": {"kernel", "stride", "pads", "dilation", "ceil_mode", "indices"},
    "avg_pool": {"kernel", "stride", "pads", "dilation", "ceil_mode", "count_include_pad"},
    "global_avg_pool": set(),
    "max_unpool": {"output_size", "kernel", "stride", "pads"},
    "batch_norm": {"epsilon", "scale", "bias", "mean", "var"},
    "relu": set(), "sigmoid": set(), "tanh": set(), "leaky_relu": {"alpha"},
    "hard_sigmoid": {"alpha", "beta"}, "hard_swish": set(),
    "add": {"activation", "activation_alpha", "b"}, "mul": {"activation", "activation_alpha", "b"},
    "concat": {"axis"}, "softmax": {"axis"}, "argmax": {"axis"},
    "resize": {"mode", "scale", "size", "align_corners", "coordinate_mode", "nearest_mode"},
    "crop": {"offset", "size", "margins"},
    "pad": {"pads", "mode", "value"},
    "flatten": set(),
    "dense": {"activation", "activation_alpha", "weight", "bias"},
    "dropout": {"ratio"}, "identity": set(),
}
SUPPORTED_OPS = sorted(ATTRIBUTES)


def _pair(node, key, default):
    v = node.get(key, default)
    if v is None:
        raise GraphError(f"node {node['name']}: attribute '{key}' is required")
    return [int(a) for a in v]


def _apply_activation(y, kind, alpha, inplace):
    if kind == "none":
        return y
    if kind == "relu":
        return F.relu(y, inplace=inplace)
    if kind == "leaky_relu":
        return F.leaky_relu(y, alpha, inplace=inplace)
    if kind == "sigmoid":
        return torch.sigmoid_(y) if inplace else torch.sigmoid(y)
    if kind == "tanh":
        return torch.tanh_(y) if inplace else torch.tanh(y)
    raise GraphError(f"unknown activation {kind}")


def _activation_of(node):
    kind = node.get("activation", "none")
    if kind not in ACTIVATIONS:
        raise GraphError(f"node {node['name']}: unknown activation '{kind}' (one of {ACTIVATIONS})")
    return kind, float(node.get("activation_alpha", 0.01))


def pool_output_size(size, k, s, p0, p1, d, ceil_mode):
    """PyTorch's pooling_output_shape with separate leading and trailing pads."""
    span = size + p0 + p1 - d * (k - 1) - 1
    if span < 0:
        raise GraphError("pooling window larger than the padded input")
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + p0:
            out -= 1
    else:
        out = span // s + 1
    return out


def _window_pads(h, w, kernel, stride, pads, dilation, ceil_mode):
    """Explicit (left, right, top, bottom) pads that make an unpadded floor-mode window
    op give exactly the spec's output size; right/bottom may be negative (a crop)."""
    oh = pool_output_size(h, kernel[0], stride[0], pads[0], pads[2], dilation[0], ceil_mode)
    ow = pool_output_size(w, kernel[1], stride[1], pads[1], pads[3], dilation[1], ceil_mode)
    need_h = (oh - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1
    need_w = (ow - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1
    return (pads[1], need_w - w - pads[1], pads[0], need_h - h - pads[0]), (oh, ow)


# --------------------------------------------------------------------------
# One nn.Module per op
# --------------------------------------------------------------------------


class Step(nn.Module):
    """Base: `inputs`/`outputs` are the node's tensor names; forward takes and
    returns tensors (a tuple when the node has several outputs)."""

    def __init__(self, node):
        super().__init__()
        self.node_name = node["name"]
        self.op = node["op"]
        self.inputs = list(node["inputs"])
        self.outputs = list(node["outputs"])

    def extra_repr(self):
        return f"{self.node_name!r}: {self.inputs} -> {self.outputs}"


def _register(step, name, array):
    if array is None:
        setattr(step, name, None)
        return
    step.register_buffer(name, torch.from_numpy(np.ascontiguousarray(array)))


class Conv(Step):
    def __init__(self, node, weight, bias):
        super().__init__(node)
        if weight.ndim != 4:
            raise GraphError(f"node {self.node_name}: conv weight must be rank 4, "
                             f"got {weight.shape}")
        _register(self, "weight", weight)
        _register(self, "bias", bias)
        self.stride = _pair(node, "stride", [1, 1])
        pt, pl, pb, pr = _pair(node, "pads", [0, 0, 0, 0])
        self.symmetric = pt == pb and pl == pr
        self.padding = (pt, pl)
        self.explicit_pad = (pl, pr, pt, pb)
        self.dilation = _pair(node, "dilation", [1, 1])
        self.groups = int(node.get("groups", 1))
        self.act, self.alpha = _activation_of(node)
        if len(self.inputs) not in (1, 2):
            raise GraphError(f"node {self.node_name}: conv takes x and an optional residual")

    def forward(self, x, residual=None):
        if self.symmetric:
            y = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                         self.groups)
        else:
            y = F.conv2d(F.pad(x, self.explicit_pad), self.weight, self.bias, self.stride, 0,
                         self.dilation, self.groups)
        if residual is not None:
            y = y.add_(residual)
        return _apply_activation(y, self.act, self.alpha, inplace=True)


class ConvTranspose(Step):
    def __init__(self, node, weight, bias):
        super().__init__(node)
        _register(self, "weight", weight)
        _register(self, "bias", bias)
        self.stride = _pair(node, "stride", [1, 1])
        self.pads = _pair(node, "pads", [0, 0, 0, 0])
        pt, pl, pb, pr = self.pads
        self.symmetric = pt == pb and pl == pr
        self.output_padding = _pair(node, "output_padding", [0, 0])
        self.dilation = _pair(node, "dilation", [1, 1])
        self.groups = int(node.get("groups", 1))
        self.act, self.alpha = _activation_of(node)

    def forward(self, x):
        if self.symmetric:
            y = F.conv_transpose2d(x, self.weight, self.bias, self.stride,
                                   (self.pads[0], self.pads[1]), self.output_padding,
                                   self.groups, self.dilation)
        else:
            pt, pl, pb, pr = self.pads
            full = F.conv_transpose2d(x, self.weight, self.bias, self.stride, 0,
                                      self.output_padding, self.groups, self.dilation)
            y = full[:, :, pt:full.shape[2] - pb, pl:full.shape[3] - pr]
        return _apply_activation(y, self.act, self.alpha, inplace=self.symmetric)


class MaxPool(Step):
    def __init__(self, node):
        super().__init__(node)
        self.kernel = _pair(node, "kernel", None)
        self.stride = _pair(node, "stride", self.kernel)
        self.pads = _pair(node, "pads", [0, 0, 0, 0])
        self.dilation = _pair(node, "dilation", [1, 1])
        self.ceil_mode = bool(node.get("ceil_mode", False))
        self.with_indices = len(self.outputs) == 2
        self.flat_indices = node.get("indices", "plane") == "flat"
        if node.get("indices", "plane") not in ("plane", "flat"):
            raise GraphError(f"node {self.node_name}: indices must be 'plane' or 'flat'")
        pt, pl, pb, pr = self.pads
        # F.max_pool2d takes symmetric pads of at most half the kernel.
        self.native = (pt == pb and pl == pr and pt <= self.kernel[0] // 2
                       and pl <= self.kernel[1] // 2)

    def forward(self, x):
        if self.native:
            r = F.max_pool2d(x, self.kernel, self.stride, (self.pads[0], self.pads[1]),
                             self.dilation, ceil_mode=self.ceil_mode,
                             return_indices=self.with_indices)
            y, idx = (r if self.with_indices else (r, None))
        else:
            h, w = x.shape[2], x.shape[3]
            explicit, _ = _window_pads(h, w, self.kernel, self.stride, self.pads, self.dilation,
                                       self.ceil_mode)
            xp = F.pad(x, explicit, value=-math.inf)
            r = F.max_pool2d(xp, self.kernel, self.stride, 0, self.dilation,
                             return_indices=self.with_indices)
            y, idx = (r if self.with_indices else (r, None))
            if idx is not None:  # padded-plane index -> index in the unpadded plane
                wp = xp.shape[3]
                idx = (idx // wp - explicit[2]) * w + (idx % wp - explicit[0])
        if not self.with_indices:
            return y
        if self.flat_indices:
            n, c, h, w = x.shape
            base = torch.arange(n * c, device=x.device, dtype=idx.dtype).view(n, c, 1, 1)
            idx = idx + base * (h * w)
        return y, idx


class AvgPool(Step):
    def __init__(self, node):
        super().__init__(node)
        self.kernel = _pair(node, "kernel", None)
        self.stride = _pair(node, "stride", self.kernel)
        self.pads = _pair(node, "pads", [0, 0, 0, 0])
        self.dilation = _pair(node, "dilation", [1, 1])
        self.ceil_mode = bool(node.get("ceil_mode", False))
        self.count_include_pad = bool(node.get("count_include_pad", False))
        pt, pl, pb, pr = self.pads
        self.native = (pt == pb and pl == pr and pt <= self.kernel[0] // 2
                       and pl <= self.kernel[1] // 2 and self.dilation == [1, 1])

    def forward(self, x):
        if self.native:
            return F.avg_pool2d(x, self.kernel, self.stride, (self.pads[0], self.pads[1]),
                                ceil_mode=self.ceil_mode,
                                count_include_pad=self.count_include_pad)
        # Dilated or asymmetric: window sums and in-window counts as depthwise
        # convolutions with a kernel of ones over the explicitly padded input.
        n, c, h, w = x.shape
        pt, pl, pb, pr = self.pads
        explicit, _ = _window_pads(h, w, self.kernel, self.stride, self.pads, self.dilation,
                                   self.ceil_mode)
        ones = torch.ones((c, 1) + tuple(self.kernel), dtype=x.dtype, device=x.device)
        s = F.conv2d(F.pad(x, explicit), ones, None, self.stride, 0, self.dilation, c)
        if self.count_include_pad:  # the pads count, the rows ceil_mode adds beyond them do not
            mask = torch.ones((1, 1, h + pt + pb, w + pl + pr), dtype=x.dtype, device=x.device)
            mask = F.pad(mask, (0, explicit[1] - pr, 0, explicit[3] - pb))
        else:
            mask = F.pad(torch.ones((1, 1, h, w), dtype=x.dtype, device=x.device), explicit)
        count = F.conv2d(mask, ones[:1], None, self.stride, 0, self.dilation)
        return s / count


class GlobalAvgPool(Step):
    def forward(self, x):
        return F.adaptive_avg_pool2d(x, 1)


class MaxUnpool(Step):
    """F.max_unpool2d with the producing max_pool's kernel, stride and pads (as
    nn.MaxUnpool2d would be built); where those are unknown or PyTorch's size check
    refuses the output size, or for ONNX export (torch.onnx has no max_unpool2d), a
    scatter into a zero plane, which is what max_unpool2d computes."""

    def __init__(self, node, pool_node, scatter):
        super().__init__(node)
        self.size = node.get("output_size")
        if self.size is None:
            kernel = _pair(node, "kernel", None)
            self.k_kernel = kernel
            self.k_stride = _pair(node, "stride", kernel)
            self.k_pads = _pair(node, "pads", [0, 0, 0, 0])
        else:
            self.size = [int(v) for v in self.size]
        self.pool = None
        if pool_node is not None:
            k = _pair(pool_node, "kernel", None)
            s = _pair(pool_node, "stride", k)
            p = _pair(pool_node, "pads", [0, 0, 0, 0])
            d = _pair(pool_node, "dilation", [1, 1])
            if p[0] == p[2] and p[1] == p[3] and d == [1, 1]:
                self.pool = (k, s, (p[0], p[1]))
        self.scatter = scatter

    def output_size(self, x):
        if self.size is not None:
            return self.size
        return [(x.shape[2 + a] - 1) * self.k_stride[a] - self.k_pads[a] - self.k_pads[a + 2]
                + self.k_kernel[a] for a in range(2)]

    def forward(self, x, idx):
        oh, ow = self.output_size(x)
        native = not self.scatter and self.pool is not None
        if native:
            k, s, p = self.pool
            for a, o in enumerate((oh, ow)):
                default = (x.shape[2 + a] - 1) * s[a] + k[a] - 2 * p[a]
                native = native and default - s[a] < o < default + s[a]
        if native:
            return F.max_unpool2d(x, idx.long(), self.pool[0], self.pool[1], self.pool[2],
                                  output_size=(oh, ow))
        n, c = x.shape[0], x.shape[1]
        y = torch.zeros((n, c, oh * ow), dtype=x.dtype, device=x.device)
        y = y.scatter(2, idx.reshape(n, c, -1).long(), x.reshape(n, c, -1))
        return y.view(n, c, oh, ow)


class BatchNorm(Step):
    def __init__(self, node, scale, bias, mean, var):
        super().__init__(node)
        for name, arr in (("scale", scale), ("bias", bias), ("mean", mean), ("var", var)):
            _register(self, name, arr)
        self.epsilon = float(node.get("epsilon", 1e-5))

    def forward(self, x):
        return F.batch_norm(x, self.mean, self.var, self.scale, self.bias, False, 0.0,
                            self.epsilon)


class Unary(Step):
    def __init__(self, node):
        super().__init__(node)
        self.alpha = float(node.get("alpha", 0.01 if self.op == "leaky_relu" else 0.2))
        self.beta = float(node.get("beta", 0.5))

    def forward(self, x):
        op = self.op
        if op == "relu":
            return F.relu(x)
        if op == "sigmoid":
            return torch.sigmoid(x)
        if op == "tanh":
            return torch.tanh(x)
        if op == "leaky_relu":
            return F.leaky_relu(x, self.alpha)
        if op == "hard_swish":  # ONNX HardSwish: x * relu6(x + 3) / 6, PyTorch's hardswish
            return F.hardswish(x)
        # hard_sigmoid: max(0, min(1, alpha * x + beta)), ONNX's; PyTorch's is alpha 1/6.
        return torch.clamp(x * self.alpha + self.beta, 0.0, 1.0)


class Binary(Step):
    def __init__(self, node, b):
        super().__init__(node)
        if (len(self.inputs) == 2) == (b is not None):
            raise GraphError(f"node {self.node_name}: give b as a second input or as weight 'b'")
        _register(self, "b", b)
        self.act, self.alpha = _activation_of(node)

    def forward(self, a, b=None):
        if b is None:
            b = self.b
        y = a + b if self.op == "add" else a * b
        return _apply_activation(y, self.act, self.alpha, inplace=True)


class Concat(Step):
    def __init__(self, node):
        super().__init__(node)
        self.axis = int(node.get("axis", 1))

    def forward(self, *xs):
        return torch.cat(xs, dim=self.axis)


class Softmax(Step):
    def __init__(self, node):
        super().__init__(node)
        self.axis = int(node.get("axis", 1))

    def forward(self, x):
        return F.softmax(x, dim=self.axis)


class Argmax(Step):
    def __init__(self, node):
        super().__init__(node)
        self.axis = int(node.get("axis", 1))

    def forward(self, x):
        return torch.argmax(x, dim=self.axis, keepdim=True)


class Resize(Step):
    def __init__(self, node):
        super().__init__(node)
        self.mode = node.get("mode", "nearest")
        if self.mode not in ("nearest", "bilinear"):
            raise GraphError(f"node {self.node_name}: resize mode '{self.mode}' unknown")
        self.align_corners = bool(node.get("align_corners", False))
        if ("scale" in node) == ("size" in node):
            raise GraphError(f"node {self.node_name}: give exactly one of 'scale' and 'size'")
        self.scale = tuple(float(s) for s in node["scale"]) if "scale" in node else None
        self.size = tuple(int(s) for s in node["size"]) if "size" in node else None
        # ONNX coordinate modes (an fcnrt extension for imported graphs): those with a
        # PyTorch interpolate equivalent.
        coord = node.get("coordinate_mode")
        nearest = node.get("nearest_mode", "floor")
        self.torch_mode = self.mode
        if coord is not None:
            if self.mode == "bilinear" and coord in ("half_pixel", "pytorch_half_pixel"):
                self.align_corners = False  # half_pixel differs only for an output of size 1
            elif self.mode == "bilinear" and coord == "align_corners":
                self.align_corners = True
            elif self.mode == "nearest" and coord == "asymmetric" and nearest == "floor":
                pass
            elif (self.mode == "nearest" and coord in ("half_pixel", "pytorch_half_pixel")
                  and nearest == "round_prefer_ceil"):
                self.torch_mode = "nearest-exact"
            else:
                raise GraphError(f"node {self.node_name}: resize coordinate_mode '{coord}' with "
                                 f"mode {self.mode} and nearest_mode {nearest} has no PyTorch "
                                 "interpolate equivalent here")

    def forward(self, x):
        kwargs = {"scale_factor": self.scale} if self.scale else {"size": self.size}
        if self.torch_mode == "bilinear":
            kwargs["align_corners"] = self.align_corners
        return F.interpolate(x, mode=self.torch_mode, **kwargs)


class Crop(Step):
    def __init__(self, node):
        super().__init__(node)
        self.offset = node.get("offset")
        self.size = node.get("size")
        self.margins = node.get("margins")
        if self.margins is None and self.offset is None and len(self.inputs) < 2:
            raise GraphError(f"node {self.node_name}: crop needs offset with size, margins, "
                             "or a ref")

    def forward(self, x, ref=None):
        h, w = x.shape[2], x.shape[3]
        if self.margins is not None:
            mt, ml, mb, mr = self.margins
            return x[:, :, mt:h - mb, ml:w - mr]
        if self.offset is not None:
            top, left = self.offset
            ch, cw = self.size if self.size is not None else (ref.shape[2], ref.shape[3])
        else:  # centre crop to ref; an odd difference leaves the extra row at the bottom
            ch, cw = ref.shape[2], ref.shape[3]
            top, left = (h - ch) // 2, (w - cw) // 2
        return x[:, :, top:top + ch, left:left + cw]


class Pad(Step):
    def __init__(self, node):
        super().__init__(node)
        pt, pl, pb, pr = [int(v) for v in node.get("pads", [0, 0, 0, 0])]
        self.pads = (pt, pl, pb, pr)
        mode = node.get("mode", "constant")
        modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}
        if mode not in modes:
            raise GraphError(f"node {self.node_name}: pad mode '{mode}' unknown")
        self.mode = modes[mode]
        self.value = float(node.get("value", 0.0))

    def forward(self, x):
        pt, pl, pb, pr = self.pads
        pos = (max(pl, 0), max(pr, 0), max(pt, 0), max(pb, 0))
        if any(pos):
            if self.mode == "constant":
                x = F.pad(x, pos, mode="constant", value=self.value)
            else:
                x = F.pad(x, pos, mode=self.mode)
        h, w = x.shape[2], x.shape[3]
        if min(self.pads) < 0:  # negative pads crop
            x = x[:, :, max(-pt, 0):h - max(-pb, 0), max(-pl, 0):w - max(-pr, 0)]
        return x


class Flatten(Step):
    def forward(self, x):
        return torch.flatten(x, 1)


class Dense(Step):
    def __init__(self, node, weight, bias):
        super().__init__(node)
        _register(self, "weight", weight)
        _register(self, "bias", bias)
        self.act, self.alpha = _activation_of(node)

    def forward(self, x):
        y = F.linear(torch.flatten(x, 1), self.weight, self.bias)
        return _apply_activation(y, self.act, self.alpha, inplace=True)


class PassThrough(Step):
    def forward(self, x):
        return x


# --------------------------------------------------------------------------
# The graph module
# --------------------------------------------------------------------------


def topological_order(graph):
    """Nodes in an executable order (the file may list them in any order)."""
    produced = {i["name"] for i in graph["inputs"]}
    producers = {}
    for node in graph["nodes"]:
        for out in node["outputs"]:
            if out in producers or out in produced:
                raise GraphError(f"node {node['name']}: tensor {out} is produced twice")
            producers[out] = node
    pending = list(graph["nodes"])
    order = []
    while pending:
        rest = []
        for node in pending:
            if all(i in produced for i in node["inputs"]):
                order.append(node)
                produced.update(node["outputs"])
            else:
                rest.append(node)
        if len(rest) == len(pending):
            bad = rest[0]
            missing = [i for i in bad["inputs"] if i not in produced and i not in producers]
            why = f"dangling input {missing[0]}" if missing else "a cycle"
            raise GraphError(f"node {bad['name']}: {why}")
        pending = rest
    return order, producers


class GraphModule(nn.Module):
    """forward(*inputs) -> tuple of outputs, in the graph's order."""

    def __init__(self, graph, weights, scatter_unpool=False):
        super().__init__()
        self.graph_name = graph.get("name", "graph")
        self.input_names = [i["name"] for i in graph["inputs"]]
        self.output_names = list(graph["outputs"])
        order, producers = topological_order(graph)
        steps = []
        for node in order:
            steps.append(_make_step(node, weights, producers, scatter_unpool))
        self.steps = nn.ModuleList(steps)
        # Last use of each tensor, so that the forward drops it then (graph outputs never).
        last = {}
        for i, step in enumerate(self.steps):
            for name in step.inputs:
                last[name] = i
        keep = set(self.output_names)
        self.release = [[n for n in dict.fromkeys(step.inputs)
                         if last.get(n) == i and n not in keep]
                        for i, step in enumerate(self.steps)]
        for name in self.output_names:
            if name not in producers and name not in self.input_names:
                raise GraphError(f"output {name} is produced by no node")

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise GraphError(f"{self.graph_name}: {len(self.input_names)} inputs expected, "
                             f"got {len(inputs)}")
        env = dict(zip(self.input_names, inputs))
        for step, release in zip(self.steps, self.release):
            outs = step(*[env[n] for n in step.inputs])
            if not isinstance(outs, tuple):
                outs = (outs,)
            for name, val in zip(step.outputs, outs):
                env[name] = val
            for name in release:
                del env[name]
        result = []
        for name in self.output_names:
            v = env[name]
            result.append(v.to(torch.int32) if not v.is_floating_point() else v)
        return tuple(result)

    def run_profiled(self, inputs, timer):
        """One forward with `timer(node_name, op)` used as a context manager around each
        node (for per-node timings). Returns the outputs."""
        env = dict(zip(self.input_names, inputs))
        for step, release in zip(self.steps, self.release):
            with timer(step.node_name, step.op):
                outs = step(*[env[n] for n in step.inputs])
            if not isinstance(outs, tuple):
                outs = (outs,)
            for name, val in zip(step.outputs, outs):
                env[name] = val
            for name in release:
                del env[name]
        return tuple(env[n] for n in self.output_names)


def _make_step(node, weights, producers, scatter_unpool):
    for key in ("op", "name", "inputs", "outputs"):
        if key not in node:
            raise GraphError(f"node {node.get('name', '?')}: missing '{key}'")
    op = node["op"]
    if op not in ATTRIBUTES:
        raise GraphError(f"node {node['name']}: op '{op}' is not supported by the PyTorch peer "
                         f"(supported: {', '.join(SUPPORTED_OPS)})")
    extra = set(node) - {"op", "name", "inputs", "outputs"} - ATTRIBUTES[op]
    if extra:
        raise GraphError(f"node {node['name']}: unknown attribute(s) {sorted(extra)} for op {op}")

    def wt(key, required=True):
        name = node.get(key)
        if name is None:
            if required:
                raise GraphError(f"node {node['name']}: weight attribute '{key}' is missing")
            return None
        if name not in weights:
            raise GraphError(f"node {node['name']}: weight {name} is not in the weights file")
        return weights[name]

    if op == "conv":
        return Conv(node, wt("weight"), wt("bias", False))
    if op == "conv_transpose":
        return ConvTranspose(node, wt("weight"), wt("bias", False))
    if op == "max_pool":
        return MaxPool(node)
    if op == "avg_pool":
        return AvgPool(node)
    if op == "global_avg_pool":
        return GlobalAvgPool(node)
    if op == "max_unpool":
        pool = producers.get(node["inputs"][1]) if len(node["inputs"]) == 2 else None
        if pool is not None and pool["op"] != "max_pool":
            pool = None
        return MaxUnpool(node, pool, scatter_unpool)
    if op == "batch_norm":
        return BatchNorm(node, wt("scale"), wt("bias"), wt("mean"), wt("var"))
    if op in ("relu", "sigmoid", "tanh", "leaky_relu", "hard_sigmoid", "hard_swish"):
        return Unary(node)
    if op in ("add", "mul"):
        return Binary(node, wt("b", False))
    if op == "concat":
        return Concat(node)
    if op == "softmax":
        return Softmax(node)
    if op == "argmax":
        return Argmax(node)
    if op == "resize":
        return Resize(node)
    if op == "crop":
        return Crop(node)
    if op == "pad":
        return Pad(node)
    if op == "flatten":
        return Flatten(node)
    if op == "dense":
        return Dense(node, wt("weight"), wt("bias", False))
    return PassThrough(node)  # dropout, identity


def load_graph_module(json_path, scatter_unpool=False):
    """Returns (module in float32 on the CPU, eval mode, no grad; input specs
    [(name, shape list with None for open dims)])."""
    with open(json_path, encoding="utf-8") as f:
        graph = json.load(f)
    if graph.get("format") != "fcnrt-graph":
        raise GraphError(f"{json_path}: not an fcnrt graph (format {graph.get('format')!r})")
    weights = {}
    if graph.get("weights"):
        weights = read_safetensors(os.path.join(os.path.dirname(os.path.abspath(json_path)),
                                                graph["weights"]))
    try:
        module = GraphModule(graph, weights, scatter_unpool=scatter_unpool)
    except GraphError as e:
        raise GraphError(f"{json_path}: {e}") from None
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    specs = [(i["name"], list(i["shape"])) for i in graph["inputs"]]
    return module, specs


def concrete_shapes(specs, size=None, batch=None):
    """Fills open dims: batch for dim 0 (also overriding a fixed batch when given),
    size (h, w) for open spatial dims. Returns {name: [n, c, h, w]}."""
    out = {}
    for name, shape in specs:
        s = list(shape)
        if batch is not None:
            s[0] = batch
        elif s[0] is None:
            s[0] = 1
        for a in (2, 3):
            if len(s) > a and s[a] is None:
                if size is None:
                    raise GraphError(f"input {name} has open spatial dims: give --size")
                s[a] = size[a - 2]
        if any(v is None for v in s):
            raise GraphError(f"input {name}: shape {shape} has open dims")
        out[name] = s
    return out


def parse_size(text):
    try:
        h, w = text.lower().split("x")
        return int(h), int(w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW, got {text!r}") from None


def rel_error(got, want):
    """Max-norm relative error (max |got - want| / max |want|) in float64."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return float("inf")
    if want.size == 0:
        return 0.0
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))


def compare_output(got, want):
    """(error, text): float outputs by relative max-norm error, integer ones exactly
    (error = share of elements that differ)."""
    if got.shape != want.shape:
        return float("inf"), f"shape {list(got.shape)} vs {list(want.shape)}"
    if np.issubdtype(want.dtype, np.integer):
        diff = int(np.count_nonzero(got.astype(np.int64) != want.astype(np.int64)))
        return diff / max(want.size, 1), f"{diff} of {want.size} differ"
    err = rel_error(got, want)
    return err, f"{err:.3g}"


# --------------------------------------------------------------------------
# Check mode
# --------------------------------------------------------------------------


def check_golden(golden_dir, scatter_unpool=False):
    with open(os.path.join(golden_dir, "MANIFEST.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    results = []
    for case in manifest["cases"]:
        d = os.path.join(golden_dir, case["name"])
        try:
            module, _ = load_graph_module(os.path.join(d, "model.json"), scatter_unpool)
        except GraphError as e:
            results.append((case["name"], "unsupported", str(e), None))
            continue
        xs = [torch.from_numpy(np.load(os.path.join(d, f"input_{n}.npy")))
              for n in case["inputs"]]
        with torch.no_grad():
            outs = module(*xs)
        worst, notes, ok = 0.0, [], True
        for name, got in zip(case["outputs"], outs):
            want = np.load(os.path.join(d, f"output_{name}.npy"))
            err, text = compare_output(got.numpy(), want)
            integer = np.issubdtype(want.dtype, np.integer)
            ok = ok and (err == 0.0 if integer else err <= case["tolerance"])
            if not integer:
                worst = max(worst, err)
            notes.append(f"{name} {text}")
        results.append((case["name"], "pass" if ok else "FAIL", ", ".join(notes), worst))
    return results


def check_against_fcnrt(fcnrt, model, size, batch, seed=0):
    module, specs = load_graph_module(model)
    module.double()
    shapes = concrete_shapes(specs, size, batch)
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [fcnrt, "run", model, "--device", "cpu"]
        xs = []
        for name, shape in shapes.items():
            x = rng.standard_normal(shape).astype(np.float32)
            path = os.path.join(tmp, f"in_{name}.npy")
            np.save(path, x)
            cmd += ["--input", f"{name}={path}"]
            xs.append(torch.from_numpy(x).double())
        for name in module.output_names:
            cmd += ["--output", f"{name}={os.path.join(tmp, 'out_' + name + '.npy')}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
        with torch.no_grad():
            outs = module(*xs)
        res = []
        for name, ref in zip(module.output_names, outs):
            got = np.load(os.path.join(tmp, f"out_{name}.npy"))
            err, text = compare_output(got, ref.numpy())
            res.append((name, err, text))
        return res, shapes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true",
                    help="validate the translation (see the docstring)")
    ap.add_argument("--golden", default=os.path.join(ROOT, "tests", "golden"))
    ap.add_argument("--no-golden", action="store_true", help="skip the golden cases")
    ap.add_argument("--fcnrt", help="fcnrt binary for the --model comparisons")
    ap.add_argument("--model", action="append", default=[],
                    help="model JSON to compare against `fcnrt run` (with --fcnrt); repeatable")
    ap.add_argument("--size", type=parse_size, help="HxW for the --model inputs' open dims")
    ap.add_argument("--batch", type=int)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--scatter-unpool", action="store_true",
                    help="build max_unpool as the scatter used for ONNX export")
    ap.add_argument("--print", dest="print_model", help="print the module built from a model JSON")
    args = ap.parse_args()
    if args.print_model:
        module, specs = load_graph_module(args.print_model)
        print(specs)
        print(module)
        return 0
    if not args.check:
        ap.error("nothing to do: give --check (or --print MODEL)")
    failed = False
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if not args.no_golden:
        results = check_golden(args.golden, args.scatter_unpool)
        for name, status, notes, _ in results:
            print(f"{status:12s} {name:36s} {notes}")
        n = {s: sum(1 for r in results if r[1] == s) for s in ("pass", "FAIL", "unsupported")}
        worst = max((r[3] for r in results if r[3] is not None), default=0.0)
        print(f"golden: {n['pass']} pass, {n['FAIL']} fail, {n['unsupported']} unsupported of "
              f"{len(results)} cases; worst float32 relative error {worst:.3g}")
        failed = failed or n["FAIL"] > 0
    if args.model:
        if not args.fcnrt:
            ap.error("--model needs --fcnrt")
        for model in args.model:
            res, shapes = check_against_fcnrt(args.fcnrt, model, args.size, args.batch)
            for name, err, text in res:
                ok = err <= args.tolerance
                failed = failed or not ok
                print(f"{'pass' if ok else 'FAIL':12s} fcnrt run vs module (float64): {model} "
                      f"{shapes} output {name}: {text}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
